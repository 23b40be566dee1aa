"""Generic observation wrappers that turn any gymnasium env into a partially observed one.

The three wrappers match the original offpcc `domains/wrappers.py` (``FilterObsByIndex``,
``ConcatObs``) and the dmc2gym fork's ``track_prev_action``; :func:`partially_observed` is
the one way to combine them, and :func:`make_partial` is the registry entry point for every
derived id (``pendulum-p-v0``, ``HalfCheetah-P-v5``, ...). This module also registers the
position-only / velocity-only ``-P`` / ``-V`` variants of pomdp-baselines (Ni et al. 2022,
``envs/pomdp``) on gymnasium's own MuJoCo v5 and Pendulum tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs.registry import register_env

ENTRY_POINT = "offpcc_pl.envs.wrappers:make_partial"


def _flat_box(space: gymnasium.Space, what: str) -> spaces.Box:
    """Return ``space`` if it is a 1-D Box, else raise an error naming ``what``."""
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise TypeError(f"{what} must be a 1-D gymnasium.spaces.Box, got {space}.")
    return space


def is_image_space(space: gymnasium.Space) -> bool:
    """Whether ``space`` holds images, which the agents encode with a convolutional encoder
    (:mod:`offpcc_pl.encoders`): a 3-D uint8 Box, channels first ``(C, H, W)``."""
    return isinstance(space, spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


class KeepIndices(gymnasium.ObservationWrapper):
    """Keep only ``indices`` of a flat observation (the original ``FilterObsByIndex``).

    Bounds are sliced the same way; observations are float32.
    """

    def __init__(self, env: gymnasium.Env, indices: Sequence[int]) -> None:
        """Wrap ``env``.

        Args:
            env: env with a 1-D Box observation space of size O.
            indices: positions to keep, in the order to keep them, each in [0, O).
        """
        super().__init__(env)
        space = _flat_box(env.observation_space, "KeepIndices' observation space")
        self.indices = np.asarray(indices, dtype=np.int64)  # (K,)
        size = space.shape[0]
        if self.indices.ndim != 1 or len(self.indices) == 0:
            raise ValueError(f"indices must be a non-empty list of ints, got {indices!r}.")
        if self.indices.min() < 0 or self.indices.max() >= size:
            raise ValueError(
                f"indices {list(indices)} out of range for a {size}-D observation; "
                f"use values in [0, {size - 1}]."
            )
        self.observation_space = spaces.Box(
            low=space.low[self.indices].astype(np.float32),
            high=space.high[self.indices].astype(np.float32),
            dtype=np.float32,
        )

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """Return the kept entries, shape (K,) float32."""
        return np.asarray(observation, dtype=np.float32)[self.indices]


class PreviousAction(gymnasium.Wrapper):
    """Append the previous action (and optionally reward) to the observation; zeros after
    reset (VRM's ``-va``; recurrent agents' ``summarizer_inputs``).

    The appended action is clipped to the action bounds (the env applies the clipped one).
    """

    def __init__(self, env: gymnasium.Env, reward: bool = False) -> None:
        """Wrap ``env`` (1-D Box observation of size O and action of size A).

        Args:
            env: the env to wrap.
            reward: also append the previous reward (observation size O + A + 1).
        """
        super().__init__(env)
        obs_space = _flat_box(env.observation_space, "PreviousAction's observation space")
        self.act_space = _flat_box(env.action_space, "PreviousAction's action space")
        self.reward = reward
        extra_low, extra_high = [self.act_space.low], [self.act_space.high]
        if reward:
            extra_low.append(np.array([-np.inf]))
            extra_high.append(np.array([np.inf]))
        self.observation_space = spaces.Box(
            low=np.concatenate([obs_space.low, *extra_low]).astype(np.float32),
            high=np.concatenate([obs_space.high, *extra_high]).astype(np.float32),
            dtype=np.float32,
        )

    def _observe(self, obs: np.ndarray, act: np.ndarray, rew: float) -> np.ndarray:
        """Return ``[obs, act(, rew)]``, shape (O + A (+ 1),) float32."""
        parts = [np.asarray(obs, dtype=np.float32), act]
        if self.reward:
            parts.append(np.array([rew], dtype=np.float32))
        return np.concatenate(parts)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the env; the "previous action" (and reward) of the first observation is zero."""
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observe(obs, np.zeros(self.act_space.shape, dtype=np.float32), 0.0), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and append ``action`` (clipped) to its observation."""
        obs, rew, terminated, truncated, info = self.env.step(action)
        act = np.clip(action, self.act_space.low, self.act_space.high).astype(np.float32)
        return self._observe(obs, act, float(rew)), rew, terminated, truncated, info


class ConcatFrames(gymnasium.Wrapper):
    """Observe the last ``k`` observations, oldest first, flattened (the original ``ConcatObs``).

    After reset the older slots are zeros; bounds are the base bounds tiled ``k`` times.
    """

    def __init__(self, env: gymnasium.Env, k: int) -> None:
        """Wrap ``env``.

        Args:
            env: env with a 1-D Box observation space of size O.
            k: number of frames kept (>= 1); observations become (k * O,).
        """
        super().__init__(env)
        if k < 1:
            raise ValueError(f"k must be a positive number of frames, got {k}.")
        space = _flat_box(env.observation_space, "ConcatFrames' observation space")
        self.k = k
        dtype = np.uint8 if space.dtype == np.uint8 else np.float32  # frames stay uint8
        self.frames = np.zeros((k, space.shape[0]), dtype=dtype)  # (k, O), oldest first
        self.observation_space = spaces.Box(
            low=np.tile(space.low, k).astype(dtype),
            high=np.tile(space.high, k).astype(dtype),
            dtype=dtype,
        )

    def _push(self, obs: np.ndarray) -> np.ndarray:
        """Drop the oldest frame, append ``obs`` and return the flat stack (k * O,)."""
        self.frames[:-1] = self.frames[1:]
        self.frames[-1] = obs
        return self.frames.reshape(-1).copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the env and the stack: ``[0, ..., 0, obs_0]``."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.frames[:] = 0.0
        return self._push(obs), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and push its observation onto the stack."""
        obs, rew, terminated, truncated, info = self.env.step(action)
        return self._push(obs), rew, terminated, truncated, info


def partially_observed(
    env: gymnasium.Env,
    keep: Sequence[int] | None = None,
    previous_action: bool = False,
    concat: int = 1,
) -> gymnasium.Env:
    """Apply, in this order, :class:`KeepIndices`, :class:`PreviousAction`, :class:`ConcatFrames`.

    Args:
        env: env with 1-D Box observation and action spaces.
        keep: observation indices to keep, or None for all.
        previous_action: append the previous action after the kept entries.
        concat: number of stacked frames (1: no stacking).

    Returns:
        The wrapped env (``env`` itself when nothing is asked).
    """
    if keep is not None:
        env = KeepIndices(env, keep)
    if previous_action:
        env = PreviousAction(env)
    if concat > 1:
        env = ConcatFrames(env, concat)
    return env


def make_partial(
    base_id: str,
    keep: Sequence[int] | None = None,
    previous_action: bool = False,
    concat: int = 1,
    base_kwargs: dict[str, Any] | None = None,
    render_mode: str | None = None,
) -> gymnasium.Env:
    """Registry entry point: make ``base_id`` and view it through :func:`partially_observed`.

    The base env is made without its own TimeLimit: the derived id is registered with the
    base's ``max_episode_steps`` (see :func:`register_partial`), so gymnasium puts exactly one
    TimeLimit outermost and truncation counts the derived env's steps.

    Args:
        base_id: registered gymnasium id of the fully observed env, e.g. ``"HalfCheetah-v5"``.
        keep: observation indices to keep, or None for all.
        previous_action: append the previous action to the observation.
        concat: number of stacked frames (1: no stacking).
        base_kwargs: extra constructor arguments of the base env.
        render_mode: passed to the base env.

    Returns:
        The partially observed env (float32 observations).
    """
    env = gymnasium.make(
        base_id,
        max_episode_steps=-1,  # -1: no TimeLimit; the outer make adds the derived id's one
        disable_env_checker=True,
        render_mode=render_mode,
        **(base_kwargs or {}),
    )
    return partially_observed(env, keep, previous_action, concat)


def register_partial(
    env_id: str,
    base_id: str,
    *,
    family: str,
    hidden: str,
    keep: Sequence[int] | None = None,
    previous_action: bool = False,
    concat: int = 1,
    base_kwargs: dict[str, Any] | None = None,
    max_episode_steps: int | None = None,
) -> None:
    """Register ``env_id`` as a partially observed view of the registered ``base_id``.

    Args:
        env_id: the new id, e.g. ``"pendulum-p-concat5-v0"``.
        base_id: registered id of the fully observed env.
        family: family shown by ``offpcc-pl envs``.
        hidden: what the observation hides, for the listing.
        keep: observation indices to keep, or None for all.
        previous_action: append the previous action to the observation.
        concat: number of stacked frames.
        base_kwargs: extra constructor arguments of the base env.
        max_episode_steps: time limit; None takes the base id's.
    """
    if max_episode_steps is None:
        max_episode_steps = gymnasium.spec(base_id).max_episode_steps
    kwargs: dict[str, Any] = {"base_id": base_id}
    if keep is not None:
        kwargs["keep"] = list(keep)
    if previous_action:
        kwargs["previous_action"] = True
    if concat > 1:
        kwargs["concat"] = concat
    if base_kwargs:
        kwargs["base_kwargs"] = dict(base_kwargs)
    register_env(
        env_id,
        ENTRY_POINT,
        family=family,
        hidden=hidden,
        max_episode_steps=max_episode_steps,
        kwargs=kwargs,
    )


# Position / velocity index sets of gymnasium's v5 MuJoCo observations, which are
# [qpos[1:] (qpos[2:] for Ant: the root x, y are excluded), qvel] (the Ant adds contact forces
# unless include_cfrc_ext_in_observation=False, which the -P/-V variants set: contact forces are
# neither positions nor velocities).
#   HalfCheetah (17): 0-7 rootz, rooty, 6 joint angles        | 8-16 root vx, vz, wy, 6 joints
#   Hopper (11):      0-4 rootz, rooty, thigh, leg, foot       | 5-10 root vx, vz, wy, 3 joints
#   Walker2d (17):    0-7 rootz, rooty, 6 joint angles        | 8-16 root vx, vz, wy, 6 joints
#   Ant (27):         0-12 torso z, quaternion (4), 8 joints  | 13-26 torso lin (3), ang (3), 8
_MUJOCO_SPLITS: dict[str, tuple[int, int, dict[str, Any]]] = {
    # name: (number of positions, observation size, base kwargs)
    "HalfCheetah": (8, 17, {}),
    "Hopper": (5, 11, {}),
    "Walker2d": (8, 17, {}),
    "Ant": (13, 27, {"include_cfrc_ext_in_observation": False}),
}


def register() -> None:
    """Register the pomdp-baselines style ``-P`` / ``-V`` ids of gymnasium's own tasks.

    The ``CartPoleContinuous-P/V-v0`` ids, built on this project's cart-pole, are registered
    by :mod:`offpcc_pl.envs.cartpole`.
    """
    for name, (num_positions, size, base_kwargs) in _MUJOCO_SPLITS.items():
        for suffix, keep, hidden in (
            ("P", range(num_positions), "velocities"),
            ("V", range(num_positions, size), "positions"),
        ):
            register_partial(
                f"{name}-{suffix}-v5",
                f"{name}-v5",
                family="pomdp-baselines",
                hidden=hidden,
                keep=keep,
                base_kwargs=base_kwargs,
            )
    # Pendulum-v1 observation: [cos(theta), sin(theta), theta_dot]
    register_partial(
        "Pendulum-P-v1", "Pendulum-v1", family="pomdp-baselines", hidden="velocity", keep=[0, 1]
    )
    register_partial(
        "Pendulum-V-v1", "Pendulum-v1", family="pomdp-baselines", hidden="angle", keep=[2]
    )
