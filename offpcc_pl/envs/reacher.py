"""Family `reacher`: gymnasium's MuJoCo Reacher with the original offpcc observations.

The original offpcc wrapped gym's ``Reacher-v2`` (mujoco_py). We wrap gymnasium's
``Reacher-v5`` (same ``reacher.xml``, frame_skip 2, same reset distribution) and restore two
things v5 changed: the 11-D observation (v5 drops the always-zero z of ``fingertip - target``)
and the reward computed *before* the simulation step, as in v2.

Ids (all ``max_episode_steps=50``, never terminate):

- ``reacher-mdp-v0``: the full 11-D observation.
- ``reacher-pomdp-v0``: 13-D (11 + two always-zero "last action" dims); the goal dims
  (target xy and ``fingertip - target``) are shown in the first observation after reset only.
- ``reacher-pomdp-v1``: ``reacher-pomdp-v0`` keeping indices [0, 1, 2, 3, 4, 5, 8, 9, 10]
  (9-D: no joint velocities).
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import KeepIndices

MAX_EPISODE_STEPS = 50
OBS_DIM = 11
# Target xy (4, 5) and fingertip - target (8, 9, 10): what reacher-pomdp-v0 hides after step 0.
GOAL_INDICES = (4, 5, 8, 9, 10)
POMDP_V1_INDICES = (0, 1, 2, 3, 4, 5, 8, 9, 10)


class ReacherV2Observation(gymnasium.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Gymnasium ``Reacher-v5`` with gym ``Reacher-v2``'s 11-D observation and pre-step reward.

    Observation (float32): cos(q1, q2), sin(q1, q2), target xy, q̇1, q̇2,
    fingertip - target (x, y, z). Reward: ``-‖fingertip - target‖ - ‖a‖²`` with the distance
    measured before the simulation step (gym ``Reacher-v2``; v5 measures it after).
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float32)

    def _fingertip_to_target(self) -> np.ndarray:
        base = self.env.unwrapped
        return base.get_body_com("fingertip") - base.get_body_com("target")  # (3,)

    def _observation(self) -> np.ndarray:
        data = self.env.unwrapped.data
        theta = data.qpos[:2]
        obs = np.concatenate(
            [
                np.cos(theta),
                np.sin(theta),
                data.qpos[2:4],  # target xy
                data.qvel[:2],
                self._fingertip_to_target(),
            ]
        )
        return obs.astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _, info = self.env.reset(seed=seed, options=options)
        return self._observation(), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        # Reward before the simulation step, as gym's Reacher-v2 (the original's base env).
        reward_dist = -float(np.linalg.norm(self._fingertip_to_target()))
        reward_ctrl = -float(np.square(action).sum())
        _, _, terminated, truncated, info = self.env.step(action)
        info = {**info, "reward_dist": reward_dist, "reward_ctrl": reward_ctrl}
        return self._observation(), reward_dist + reward_ctrl, terminated, truncated, info


class GoalShownOnce(gymnasium.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Append two zero "last action" dims and hide the goal dims after the first observation.

    This is the original ``reacher-pomdp-v0``: the goal is visible at reset only and must be
    remembered for the rest of the episode.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        base_space, act_space = env.observation_space, env.action_space
        # The "last action" slots are always zero; action bounds avoid a degenerate Box.
        low = np.concatenate([base_space.low, act_space.low]).astype(np.float32)
        high = np.concatenate([base_space.high, act_space.high]).astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    @staticmethod
    def _pad(obs: np.ndarray) -> np.ndarray:
        return np.concatenate([obs, np.zeros(2, dtype=np.float32)]).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._pad(obs), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs = self._pad(obs)
        obs[list(GOAL_INDICES)] = 0.0
        return obs, reward, terminated, truncated, info


def make_reacher(
    variant: str = "mdp", render_mode: str | None = None, width: int = 480, height: int = 480
) -> gymnasium.Env:
    """Build a reacher variant (entry point of the ``reacher-*`` ids).

    Args:
        variant: ``"mdp"`` (11-D), ``"pomdp-v0"`` (13-D, goal shown once) or ``"pomdp-v1"``
            (9-D, goal shown once, no velocities).
        render_mode: ``None``, ``"rgb_array"`` or ``"human"``.
        width: rendered image width.
        height: rendered image height.

    Returns:
        The environment, without a time limit (the registration adds it).
    """
    if variant not in ("mdp", "pomdp-v0", "pomdp-v1"):
        raise ValueError(
            f"unknown reacher variant {variant!r}; use 'mdp', 'pomdp-v0' or 'pomdp-v1'"
        )
    if render_mode == "rgb_array":
        from offpcc_pl.envs.rendering import use_egl_when_headless

        use_egl_when_headless()
    # Imported here so that importing offpcc_pl does not load MuJoCo.
    from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv

    env: gymnasium.Env = ReacherV2Observation(
        ReacherEnv(render_mode=render_mode, width=width, height=height)
    )
    if variant == "mdp":
        return env
    env = GoalShownOnce(env)
    if variant == "pomdp-v0":
        return env
    return KeepIndices(env, list(POMDP_V1_INDICES))


def register() -> None:
    """Register ``reacher-mdp-v0``, ``reacher-pomdp-v0`` and ``reacher-pomdp-v1``."""
    ids = {
        "reacher-mdp-v0": ("mdp", ""),
        "reacher-pomdp-v0": ("pomdp-v0", "goal after the first step"),
        "reacher-pomdp-v1": ("pomdp-v1", "goal after the first step, velocities"),
    }
    for env_id, (variant, hidden) in ids.items():
        register_env(
            env_id,
            "offpcc_pl.envs.reacher:make_reacher",
            family="reacher",
            hidden=hidden,
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs={"variant": variant},
        )
