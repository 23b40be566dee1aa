"""Making training/evaluation environments and snapshotting them for exact resume."""

from __future__ import annotations

import pickle
from typing import Literal

import gymnasium
import numpy as np
from gymnasium.utils import EzPickle

from offpcc_pl.envs.wrappers import PreviousAction
from offpcc_pl.errors import ConfigError, close_matches


class UnitActions(gymnasium.ActionWrapper):
    """Affine map of actions in [-1, 1] onto the env's Box bounds.

    Our own rather than ``gymnasium.wrappers.RescaleAction``: that one holds local closures
    and cannot be pickled, which rules out checkpointing the episode in progress.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        low, high = env.action_space.low, env.action_space.high
        self._center = ((high + low) / 2).astype(np.float32)
        self._half_range = ((high - low) / 2).astype(np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, low.shape, np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        unit = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        return self._center + self._half_range * unit


def check_env_id(env_id: str) -> gymnasium.envs.registration.EnvSpec:
    """The registered spec of ``env_id``, or a :class:`ConfigError` naming close ids."""
    try:
        return gymnasium.spec(env_id)
    except gymnasium.error.Error:
        hint = close_matches(env_id, gymnasium.registry.keys())
        raise ConfigError(
            f"unknown env id '{env_id}'{hint}; `offpcc-pl envs` lists ours, and any "
            "registered gymnasium id with Box spaces works"
        ) from None


TEST_SEED = 10_000  # evaluation episode i resets with seed TEST_SEED + i (never the train RNGs)

HistoryInputs = Literal["obs", "obs_act", "obs_act_rew"]


def make_env(
    env_id: str, render_mode: str | None = None, history: HistoryInputs = "obs"
) -> gymnasium.Env:
    """Make ``env_id`` with actions rescaled to [-1, 1] (DESIGN.md "Semantics").

    ``history`` appends the previous (unit) action and reward to each observation, so a
    recurrent summarizer sees them as inputs; buffers, acting and evaluation all follow.

    Raises:
        ConfigError: unknown id, missing optional dependency, or spaces the agents can't use.
    """
    check_env_id(env_id)
    try:
        env = gymnasium.make(env_id, render_mode=render_mode)
    except (gymnasium.error.DependencyNotInstalled, ImportError) as err:
        raise ConfigError(f"env '{env_id}' needs a missing dependency: {err}") from None
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(act_space, gymnasium.spaces.Box) or len(act_space.shape) != 1:
        env.close()
        raise ConfigError(f"env '{env_id}' has action space {act_space}; agents need a 1-D Box")
    if not isinstance(obs_space, gymnasium.spaces.Box) or len(obs_space.shape) != 1:
        env.close()
        raise ConfigError(
            f"env '{env_id}' has observation space {obs_space}; agents need a flat 1-D Box "
            "(image observations are not supported by the agents yet)"
        )
    if not (np.all(act_space.low == -1.0) and np.all(act_space.high == 1.0)):
        if not (np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))):
            env.close()
            raise ConfigError(
                f"env '{env_id}' has unbounded actions {act_space}; agents need finite bounds"
            )
        env = UnitActions(env)
    if history != "obs":
        env = PreviousAction(env, reward=history == "obs_act_rew")
    return env


# Envs whose whole state is plain Python/numpy, so a pickle is a faithful copy. Others may
# pickle without error yet lose their state: MuJoCo and Box2D envs (EzPickle) pickle their
# constructor arguments, and pybullet or dm_control envs hold handles into a C engine.
FAITHFUL_PICKLE_MODULES = (
    "gymnasium.envs.classic_control",
    "gymnasium.envs.toy_text",
    "offpcc_pl.envs.pendulum",
    "offpcc_pl.envs.cartpole",
    "offpcc_pl.envs.water_maze",
    "offpcc_pl.envs.car",
)


def snapshot(env: gymnasium.Env) -> bytes | None:
    """Pickled copy of the env and its episode in progress, or None where a copy can't be
    faithful (see :data:`FAITHFUL_PICKLE_MODULES`)."""
    unwrapped = env.unwrapped
    if isinstance(unwrapped, EzPickle) or not type(unwrapped).__module__.startswith(
        FAITHFUL_PICKLE_MODULES
    ):
        return None
    try:
        return pickle.dumps(env)
    except Exception:  # noqa: BLE001 - any failure means "not copyable": start a fresh episode
        return None


def restore(blob: bytes) -> gymnasium.Env:
    """The env saved by :func:`snapshot`."""
    return pickle.loads(blob)
