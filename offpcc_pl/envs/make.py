"""Making training and evaluation environments: actions in [-1, 1], the observed history, seeds
of the evaluation episodes (an env's state for exact resume is :mod:`offpcc_pl.envs.state`)."""

from __future__ import annotations

import warnings
from typing import Literal

import gymnasium
import numpy as np

from offpcc_pl.envs import CATALOG
from offpcc_pl.envs.native_output import loads_mujoco, route_mujoco_warnings
from offpcc_pl.envs.wrappers import PreviousAction, is_image_space
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
    """Make ``env_id`` with actions rescaled to [-1, 1], the range every agent acts in.

    ``history`` appends the previous (unit) action and reward to each observation, so a
    recurrent summarizer sees them as inputs; buffers, acting and evaluation all follow.

    Raises:
        ConfigError: unknown id, missing optional dependency, or spaces the agents can't use.
    """
    spec = check_env_id(env_id)
    try:
        if loads_mujoco(spec):
            route_mujoco_warnings()  # not to MUJOCO_LOG.TXT in the current directory
        with warnings.catch_warnings():
            if env_id in CATALOG:  # our -v0 / -v1 are variants of a task, not revisions
                warnings.filterwarnings("ignore", message=".*is out of date.*")
            env = gymnasium.make(env_id, render_mode=render_mode)
    except (gymnasium.error.DependencyNotInstalled, ImportError) as err:
        raise ConfigError(f"env '{env_id}' needs a missing dependency: {err}") from None
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(act_space, gymnasium.spaces.Box) or len(act_space.shape) != 1:
        env.close()
        raise ConfigError(f"env '{env_id}' has action space {act_space}; agents need a 1-D Box")
    flat = isinstance(obs_space, gymnasium.spaces.Box) and len(obs_space.shape) == 1
    if not (flat or is_image_space(obs_space)):
        env.close()
        raise ConfigError(
            f"env '{env_id}' has observation space {obs_space}; agents need a flat 1-D Box "
            "or images, a (C, H, W) uint8 Box"
        )
    if not (np.all(act_space.low == -1.0) and np.all(act_space.high == 1.0)):
        if not (np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))):
            env.close()
            raise ConfigError(
                f"env '{env_id}' has unbounded actions {act_space}; agents need finite bounds"
            )
        env = UnitActions(env)
    if history != "obs":
        if not flat:
            env.close()
            raise ConfigError(
                f"summarizer_inputs '{history}' appends the last action/reward to a flat "
                f"observation; env '{env_id}' observes images: use summarizer_inputs 'obs'"
            )
        env = PreviousAction(env, reward=history == "obs_act_rew")
    return env
