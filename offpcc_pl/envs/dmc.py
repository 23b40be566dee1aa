"""Family `dmc`: DeepMind Control Suite tasks behind a small gymnasium adapter.

The original offpcc used a fork of dmc2gym (``keys_to_exclude``, ``track_prev_action``). We
use the ``dm-control`` package directly (extra ``[dmc]``, imported only when such an env is
made) and build the partially observed variants from the generic wrappers in
:mod:`offpcc_pl.envs.wrappers`.

dm_control ends every episode of these tasks by its own time limit (1000 physics-control
steps, i.e. 200 agent steps at frame_skip 5), which is a truncation; the registered
``max_episode_steps`` truncates at the same step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation, ReshapeObservation

from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.rendering import use_egl_when_headless
from offpcc_pl.envs.wrappers import ConcatFrames, partially_observed

DMC_HINT = "pip install 'offpcc-pl[dmc]'"
# dmc2gym's defaults for pixel observations.
IMAGE_SIZE = 84
RGB_TO_GRAY = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)


def _import_suite() -> Any:
    """Import ``dm_control.suite``, or say which extra installs it."""
    use_egl_when_headless()
    try:
        from dm_control import suite
    except ImportError as error:
        raise gymnasium.error.DependencyNotInstalled(
            f"dm_control environments need the dm-control package ({error}); "
            f"install it with: {DMC_HINT}"
        ) from error
    return suite


class DMCEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """A ``dm_control.suite`` task as a gymnasium environment.

    Observations are the task's observation dict flattened in its own key order (float32), or
    an RGB image (3, H, W) uint8 with ``from_pixels``. Each step repeats the action
    ``frame_skip`` times and sums the rewards. ``reset(seed=...)`` reseeds the task's random
    state from the env's ``np_random``, so seeded episodes are reproducible.

    Args:
        domain: suite domain, e.g. ``"cartpole"``.
        task: suite task, e.g. ``"swingup"``.
        frame_skip: control steps per agent step.
        from_pixels: observe a rendered image instead of the state vector.
        image_size: height and width of pixel observations.
        camera_id: camera used for pixel observations and rendering.
        render_mode: ``None`` or ``"rgb_array"``.
        render_size: height and width of ``render()`` frames.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(
        self,
        domain: str,
        task: str,
        frame_skip: int = 5,
        from_pixels: bool = False,
        image_size: int = IMAGE_SIZE,
        camera_id: int = 0,
        render_mode: str | None = None,
        render_size: int = 480,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array'")
        if frame_skip < 1:
            raise ValueError(f"frame_skip must be >= 1, got {frame_skip}")
        suite = _import_suite()
        # The task's RandomState is replaced from np_random at the first reset.
        self._env = suite.load(domain, task, task_kwargs={"random": 0})
        self._domain, self._task = domain, task
        self._frame_skip = frame_skip
        self._from_pixels = from_pixels
        self._image_size = image_size
        self._camera_id = camera_id
        self._render_size = render_size
        self._task_seeded = False
        self.render_mode = render_mode
        self.metadata = {
            **self.metadata,
            "render_fps": int(round(1.0 / (self._env.control_timestep() * frame_skip))),
        }

        # Where each observation key lies in the flat vector, e.g. {"position": slice(0, 3)}.
        self.observation_slices: dict[str, slice] = {}
        start = 0
        for key, spec in self._env.observation_spec().items():
            size = int(np.prod(spec.shape))
            self.observation_slices[key] = slice(start, start + size)
            start += size
        if from_pixels:
            shape = (3, image_size, image_size)
            self.observation_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)
        else:
            self.observation_space = spaces.Box(-np.inf, np.inf, shape=(start,), dtype=np.float32)
        action_spec = self._env.action_spec()
        self.action_space = spaces.Box(
            low=action_spec.minimum.astype(np.float32),
            high=action_spec.maximum.astype(np.float32),
            shape=action_spec.shape,
            dtype=np.float32,
        )

    def _observation(self, time_step: Any) -> np.ndarray:
        if self._from_pixels:
            image = self._render_image(self._image_size)  # (H, W, 3)
            return np.ascontiguousarray(image.transpose(2, 0, 1))  # (3, H, W)
        parts = [
            np.asarray(value, dtype=np.float32).ravel() for value in time_step.observation.values()
        ]
        return np.concatenate(parts)

    def _render_image(self, size: int) -> np.ndarray:
        try:
            return self._env.physics.render(height=size, width=size, camera_id=self._camera_id)
        except Exception as error:  # dm_control raises several types when GL is missing
            raise RuntimeError(
                f"rendering {self._domain}-{self._task} failed ({type(error).__name__}: {error}); "
                "image observations and render() need an offscreen OpenGL backend: install EGL "
                "(Debian: libegl1 libgl1-mesa-dri) and set MUJOCO_GL=egl, or OSMesa "
                "(libosmesa6) and set MUJOCO_GL=osmesa"
            ) from error

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or not self._task_seeded:
            # All randomness from np_random, so reset(seed=...) fixes the episode: reseed the
            # task's RNG, which draws the initial state in initialize_episode.
            task_seed = int(self.np_random.integers(2**31 - 1))
            self._env.task._random = np.random.RandomState(task_seed)
            self._task_seeded = True
        time_step = self._env.reset()
        return self._observation(time_step), {}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float64)
        reward = 0.0
        for _ in range(self._frame_skip):
            time_step = self._env.step(action)
            reward += time_step.reward or 0.0
            if time_step.last():
                break
        # dm_env: an end with discount 0 is a terminal state; any other end is a time limit.
        ended = time_step.last()
        terminated = bool(ended and time_step.discount == 0.0)
        truncated = bool(ended and not terminated)
        return self._observation(time_step), reward, terminated, truncated, {}

    def render(self) -> np.ndarray | None:
        """Return an RGB frame (H, W, 3) uint8 when ``render_mode="rgb_array"``."""
        if self.render_mode != "rgb_array":
            return None
        return self._render_image(self._render_size)

    def close(self) -> None:
        self._env.close()
        super().close()


class GrayscaleImage(gymnasium.ObservationWrapper[np.ndarray, np.ndarray, np.ndarray]):
    """RGB (3, H, W) uint8 → grayscale (1, H, W) uint8, the original's ``GrayscaleImage``
    (weights 0.2989, 0.5870, 0.1140) rounded to whole levels.

    The original also divided by 255 here (``Normalize255Image``); frames stay uint8 instead,
    a quarter of the replay memory, and the agents' :class:`offpcc_pl.encoders.ConvEncoder`
    divides on the device.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        _, height, width = env.observation_space.shape
        self.observation_space = spaces.Box(0, 255, shape=(1, height, width), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        gray = np.tensordot(RGB_TO_GRAY, observation.astype(np.float32), axes=1)  # (H, W)
        return np.rint(gray).astype(np.uint8)[None]  # (1, H, W)


def make_dmc(
    domain: str,
    task: str,
    keys: Sequence[str] | None = None,
    previous_action: bool = False,
    concat: int = 1,
    frame_skip: int = 5,
    from_pixels: bool = False,
    render_mode: str | None = None,
) -> gymnasium.Env:
    """Build a ``dmc-*`` environment (entry point of this family's ids).

    Args:
        domain: suite domain, e.g. ``"cartpole"``.
        task: suite task, e.g. ``"balance"``.
        keys: observation keys to keep (e.g. ``["position"]``); None keeps all.
        previous_action: append the previous action to the observation.
        concat: stack the last ``concat`` observations (1: no stacking).
        frame_skip: control steps per agent step.
        from_pixels: grayscale uint8 1×84×84 image observations.
        render_mode: ``None`` or ``"rgb_array"``.

    Returns:
        The environment, without a time limit (the registration adds it).
    """
    env: gymnasium.Env = DMCEnv(
        domain, task, frame_skip=frame_skip, from_pixels=from_pixels, render_mode=render_mode
    )
    if from_pixels:
        return _stacked_gray_images(env, concat)
    keep = None
    if keys is not None:
        slices = env.unwrapped.observation_slices
        unknown = sorted(set(keys) - set(slices))
        if unknown:
            raise ValueError(
                f"unknown observation keys {unknown} for {domain}-{task}; "
                f"its keys are {list(slices)}"
            )
        keep = [
            i for key in slices if key in keys for i in range(slices[key].start, slices[key].stop)
        ]
    return partially_observed(env, keep=keep, previous_action=previous_action, concat=concat)


def _stacked_gray_images(env: gymnasium.Env, concat: int) -> gymnasium.Env:
    """Grayscale uint8 (1, H, W) images, the last ``concat`` stacked on the channel axis.

    The generic ``ConcatFrames`` stacks flat observations oldest first, so stacking flattened
    images and reshaping to (concat, H, W) puts frame i in channel i, zero-padded after reset
    like the original's ``ConcatImages``.
    """
    env = GrayscaleImage(env)  # (1, H, W)
    if concat == 1:
        return env
    _, height, width = env.observation_space.shape
    env = FlattenObservation(env)  # (H * W,)
    env = ConcatFrames(env, concat)  # (concat * H * W,)
    return ReshapeObservation(env, (concat, height, width))


def _register(
    env_id: str,
    hidden: str = "",
    max_episode_steps: int = 200,
    **kwargs: Any,
) -> None:
    register_env(
        env_id,
        "offpcc_pl.envs.dmc:make_dmc",
        family="dmc",
        hidden=hidden,
        max_episode_steps=max_episode_steps,
        kwargs=kwargs,
    )


def register() -> None:
    """Register the ``dmc-*`` ids (MES 200 at frame_skip 5; image ids MES 500)."""
    for task in ("balance", "swingup"):
        prefix = f"dmc-cartpole-{task}"
        base = {"domain": "cartpole", "task": task}
        _register(f"{prefix}-v0", **base)
        _register(f"{prefix}-p-v0", "velocities", keys=["position"], **base)
        _register(f"{prefix}-va-v0", "positions", keys=["velocity"], previous_action=True, **base)
        _register(f"{prefix}-p-concat5-v0", "velocities", keys=["position"], concat=5, **base)
        _register(
            f"{prefix}-va-concat10-v0",
            "positions",
            keys=["velocity"],
            previous_action=True,
            concat=10,
            **base,
        )
    swingup = {"domain": "cartpole", "task": "swingup"}
    _register("dmc-cartpole-swingup-mdp-v0", **swingup)
    # Broken in the original (missing entry points); -pomdp is position-only here.
    _register("dmc-cartpole-swingup-pomdp-v0", "velocities", keys=["position"], **swingup)
    _register("dmc-cartpole-swingup-mdp-concat5-v0", concat=5, **swingup)
    _register("dmc-cart2pole-v0", domain="cartpole", task="two_poles")
    _register("dmc-cart3pole-v0", domain="cartpole", task="three_poles")
    _register("dmc-pendulum-swingup-v0", domain="pendulum", task="swingup")
    for domain, task in (("cartpole", "balance"), ("walker", "walk")):
        _register(
            f"dmc-{domain}-{task}-mdp-img-concat3-v0",
            "state (sees 84×84 images)",
            max_episode_steps=500,
            domain=domain,
            task=task,
            from_pixels=True,
            frame_skip=2,
            concat=3,
        )
