"""Pendulum swing-up: the VRM set (DOMAINS.md section 4) and the variable pole length set (3).

Both use gym's ``Pendulum-v0`` physics (:func:`pendulum_step`), which integrates the angle
with the new velocity and clips the velocity afterwards (gymnasium's Pendulum-v1 clips
first). The partially observed ids are views built with :mod:`offpcc_pl.envs.wrappers`.
VRM: Han, Doya & Tani, "Variational Recurrent Models for Solving Partially Observable
Control Tasks", ICLR 2020.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs import raster
from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import register_partial

GRAVITY = 10.0  # m/s^2
MASS = 1.0  # kg
DT = 0.05  # s per step
MAX_SPEED = 8.0  # rad/s
MAX_TORQUE = 2.0  # N m
MAX_EPISODE_STEPS = 200
VAR_LEN_POLE_LENGTHS = (0.2, 1.0)  # m, drawn at reset


def angle_normalize(theta: float) -> float:
    """Wrap an angle (rad) to [-pi, pi)."""
    return (theta + np.pi) % (2 * np.pi) - np.pi


def pendulum_step(
    theta: float, theta_dot: float, torque: float, length: float
) -> tuple[float, float, float]:
    """One Euler step of gym's Pendulum-v0 (angle 0 is upright).

    Args:
        theta: angle (rad).
        theta_dot: angular velocity (rad/s).
        torque: applied torque (N m), clipped to [-2, 2].
        length: pole length (m).

    Returns:
        ``(theta, theta_dot, reward)`` after the step; the reward is the negative cost of the
        state and torque before it.
    """
    torque = float(np.clip(torque, -MAX_TORQUE, MAX_TORQUE))
    cost = angle_normalize(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * torque**2
    theta_acc = (
        -3 * GRAVITY / (2 * length) * np.sin(theta + np.pi) + 3.0 / (MASS * length**2) * torque
    )  # rad/s^2
    theta_dot = theta_dot + theta_acc * DT
    theta = theta + theta_dot * DT  # with the new velocity, as gym's Pendulum-v0
    theta_dot = float(np.clip(theta_dot, -MAX_SPEED, MAX_SPEED))
    return float(theta), theta_dot, -float(cost)


class PendulumEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """VRM pendulum (``pendulum-v0``): pole length 1 m, observation [cos, sin, theta_dot].

    Action: torque in [-2, 2] N m. Never terminates; the registry's time limit truncates.
    """

    metadata: dict[str, Any] = {"render_modes": raster.RENDER_MODES, "render_fps": 20}

    def __init__(self, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            render_mode: ``"rgb_array"`` or None.
        """
        self.render_mode = raster.check_render_mode(render_mode)
        self.action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(1,), dtype=np.float32)
        self.observation_space = self._observation_space()
        self.theta = 0.0  # rad
        self.theta_dot = 0.0  # rad/s
        self.length = 1.0  # m
        self.last_torque = 0.0  # N m, clipped

    def _observation_space(self) -> spaces.Box:
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def _observation(self) -> np.ndarray:
        """[cos(theta), sin(theta), theta_dot], shape (3,) float32."""
        return np.array([np.cos(self.theta), np.sin(self.theta), self.theta_dot], dtype=np.float32)

    def _draw_length(self) -> float:
        """Pole length (m) for a new episode."""
        return 1.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: theta ~ U(-pi, pi), theta_dot ~ U(-1, 1)."""
        super().reset(seed=seed)
        self.theta = float(self.np_random.uniform(-np.pi, np.pi))
        self.theta_dot = float(self.np_random.uniform(-1.0, 1.0))
        self.length = self._draw_length()
        self.last_torque = 0.0
        return self._observation(), {}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply the torque ``action`` (1,) for one 0.05 s step."""
        self.last_torque = float(np.clip(action[0], -MAX_TORQUE, MAX_TORQUE))
        self.theta, self.theta_dot, rew = pendulum_step(
            self.theta, self.theta_dot, self.last_torque, self.length
        )
        return self._observation(), rew, False, False, {}

    def render(self) -> np.ndarray | None:
        """Draw the pole (blue) from its pivot, upright is up; (192, 192, 3) uint8."""
        if self.render_mode is None:
            return None
        canvas = raster.Canvas((-1.2, 1.2), (-1.2, 1.2), pixels_per_unit=80)
        frame = canvas.blank()
        tip = (self.length * np.sin(self.theta), self.length * np.cos(self.theta))
        canvas.segment(frame, (0.0, 0.0), tip, 0.08, raster.BLUE)
        canvas.disc(frame, (0.0, 0.0), 0.05, raster.BLACK)
        return frame


class PendulumVarLenEnv(PendulumEnv):
    """Pendulum whose pole length is drawn from {0.2, 1.0} m at reset.

    Observation: [cos(theta), sin(theta), theta_dot, length, last torque] (last torque 0 at
    reset); the registered ids keep subsets of it.
    """

    def _observation_space(self) -> spaces.Box:
        low = [-1.0, -1.0, -MAX_SPEED, min(VAR_LEN_POLE_LENGTHS), -MAX_TORQUE]
        high = [1.0, 1.0, MAX_SPEED, max(VAR_LEN_POLE_LENGTHS), MAX_TORQUE]
        return spaces.Box(np.float32(low), np.float32(high), dtype=np.float32)

    def _observation(self) -> np.ndarray:
        """[cos, sin, theta_dot, length, last torque], shape (5,) float32."""
        extra = np.array([self.length, self.last_torque], dtype=np.float32)
        return np.concatenate([super()._observation(), extra])

    def _draw_length(self) -> float:
        return float(self.np_random.choice(VAR_LEN_POLE_LENGTHS))


# id: (kept indices of the base observation, previous action appended, frames, hidden)
_VRM_VARIANTS: dict[str, tuple[list[int], bool, int, str]] = {
    "pendulum-p-v0": ([0, 1], False, 1, "angular velocity"),
    "pendulum-v-v0": ([2], False, 1, "angle"),
    "pendulum-va-v0": ([2], True, 1, "angle"),
    "pendulum-p-concat5-v0": ([0, 1], False, 5, "angular velocity (5-frame stack)"),
    "pendulum-v-concat10-v0": ([2], False, 10, "angle (10-frame stack)"),
    "pendulum-va-concat10-v0": ([2], True, 10, "angle (10-frame stack)"),
}
# base observation [cos, sin, theta_dot, length, last torque]
_VAR_LEN_VARIANTS: dict[str, tuple[list[int], int, str]] = {
    "pendulum-var-len-pvl-v0": ([0, 1, 2, 3], 1, ""),
    "pendulum-var-len-pv-v0": ([0, 1, 2], 1, "pole length"),
    "pendulum-var-len-pl-v0": ([0, 1, 3], 1, "angular velocity"),
    "pendulum-var-len-pa-v0": ([0, 1, 4], 1, "angular velocity, pole length"),
    "pendulum-var-len-pa-concat5-v0": ([0, 1, 4], 5, "angular velocity, pole length (5 frames)"),
}


def register() -> None:
    """Register the VRM pendulum ids and the variable pole length ids (MES 200)."""
    register_env(
        "pendulum-v0",
        f"{__name__}:PendulumEnv",
        family="pendulum",
        max_episode_steps=MAX_EPISODE_STEPS,
    )
    for env_id, (keep, previous_action, concat, hidden) in _VRM_VARIANTS.items():
        register_partial(
            env_id,
            "pendulum-v0",
            family="pendulum",
            hidden=hidden,
            keep=keep,
            previous_action=previous_action,
            concat=concat,
        )
    # The full observation has no id in the original; it is registered as the base of the
    # variants (and is itself the fully observed task).
    register_env(
        "pendulum-var-len-v0",
        f"{__name__}:PendulumVarLenEnv",
        family="pendulum-var-len",
        max_episode_steps=MAX_EPISODE_STEPS,
    )
    for env_id, (keep, concat, hidden) in _VAR_LEN_VARIANTS.items():
        register_partial(
            env_id,
            "pendulum-var-len-v0",
            family="pendulum-var-len",
            hidden=hidden,
            keep=keep,
            concat=concat,
        )
