"""Car flag, or heaven and hell (DOMAINS.md sections 2 and 10).

A car on a line must reach heaven, at x = +1 or x = -1 with equal chance, with hell on the
other side. The only cue is the priest: for x in [0.3, 0.7] the observation's direction
entry says which side heaven is on. "Car Flag" of Nguyen et al., "Belief-Grounded Networks
for Accelerated Robot Learning under Partial Observability" (CoRL 2020), itself adapted from
gym's continuous MountainCar. ``info["is_success"]`` is True on the step that reaches heaven.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs import raster
from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import register_partial

FLAG_POSITION = 1.0  # heaven and hell are at +-1
PRIEST_POSITION = 0.5
PRIEST_HALF_WIDTH = 0.2  # the cue is shown for x in [0.3, 0.7]
EPISODE_STEPS = 160  # car-v0 time limit; the episodic variants' own step budget


def priest_direction(position: float, heaven_side: float, half_width: float) -> float:
    """The priest's cue: ``heaven_side`` (+1 right, -1 left) near the priest, else 0."""
    near_priest = abs(position - PRIEST_POSITION) <= half_width
    return heaven_side if near_priest else 0.0


def flag_reached(position: float, heaven_side: float) -> str | None:
    """``"heaven"``, ``"hell"`` or None (neither flag reached) at ``position``."""
    if position * heaven_side >= FLAG_POSITION:
        return "heaven"
    if -position * heaven_side >= FLAG_POSITION:
        return "hell"
    return None


def _render_car(
    position: float, heaven_side: float, half_width: float, track_half_length: float
) -> np.ndarray:
    """Track, heaven flag (green), hell flag (red), priest window (blue), car (black).

    Returns:
        Frame (H, W, 3) uint8, 100 pixels per unit, H = 80.
    """
    extent = track_half_length + 0.1
    canvas = raster.Canvas((-extent, extent), (-0.3, 0.5), pixels_per_unit=100)
    frame = canvas.blank()
    window = (PRIEST_POSITION - half_width, PRIEST_POSITION + half_width)
    canvas.rect(frame, (window[0], -0.05), (window[1], 0.0), raster.BLUE)
    canvas.segment(frame, (-track_half_length, 0.0), (track_half_length, 0.0), 0.02, raster.GREY)
    for side, colour in ((heaven_side, raster.GREEN), (-heaven_side, raster.RED)):
        pole_x = side * FLAG_POSITION
        canvas.segment(frame, (pole_x, 0.0), (pole_x, 0.4), 0.02, raster.BLACK)
        canvas.rect(frame, (pole_x, 0.3), (pole_x + 0.15, 0.4), colour)
    canvas.rect(frame, (position - 0.08, 0.02), (position + 0.08, 0.12), raster.BLACK)
    return frame


class _CarBase(gymnasium.Env[np.ndarray, np.ndarray]):
    """Heaven side, priest window and drawing shared by the car envs."""

    metadata: dict[str, Any] = {"render_modes": raster.RENDER_MODES, "render_fps": 30}
    TRACK_HALF_LENGTH = 1.1  # drawing extent

    def __init__(self, priest_half_width: float, render_mode: str | None) -> None:
        self.render_mode = raster.check_render_mode(render_mode)
        self.priest_half_width = priest_half_width
        self.heaven_side = 1.0  # +1: heaven at x = +1, hell at x = -1
        self.position = 0.0

    def _new_episode(self, seed: int | None) -> None:
        """Reseed, draw the heaven side and the start x ~ U(-0.2, 0.2)."""
        super().reset(seed=seed)
        self.heaven_side = float(self.np_random.choice([-1.0, 1.0]))
        self.position = float(self.np_random.uniform(-0.2, 0.2))

    def _direction(self, position: float) -> float:
        return priest_direction(position, self.heaven_side, self.priest_half_width)

    def render(self) -> np.ndarray | None:
        """Draw the track, flags, priest window and car."""
        if self.render_mode is None:
            return None
        return _render_car(
            self.position, self.heaven_side, self.priest_half_width, self.TRACK_HALF_LENGTH
        )


class CarFlagEnv(_CarBase):
    """``car-v0`` / ``car-episodic-v0``: a car with inertia; observation [x, v, direction].

    Action: force in [-1, 1]; v += 0.0015 a (|v| <= 0.2), x += v (|x| <= 2.4, a negative v
    is zeroed at x = -2.4). Terminated at |x| >= 1.
    Reward, ``car-v0``: 1 at heaven, else 0. ``car-episodic-v0``: -1 every step, and hell
    also costs the steps left of the 160-step budget; terminated when the budget runs out.
    """

    TRACK_HALF_LENGTH = 2.4
    MAX_SPEED = 0.2
    POWER = 0.0015

    def __init__(self, episodic: bool = False, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            episodic: the step-penalised ``car-episodic-v0`` variant.
            render_mode: ``"rgb_array"`` or None.
        """
        super().__init__(PRIEST_HALF_WIDTH, render_mode)
        self.episodic = episodic
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        high = np.array([self.TRACK_HALF_LENGTH, self.MAX_SPEED, 1.0], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.velocity = 0.0
        self.steps_left = EPISODE_STEPS

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at rest at x ~ U(-0.2, 0.2), heaven on a random side; direction 0."""
        self._new_episode(seed)
        self.velocity = 0.0
        self.steps_left = EPISODE_STEPS
        return np.array([self.position, 0.0, 0.0], dtype=np.float32), {"is_success": False}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Accelerate by 0.0015 a and move."""
        self.steps_left -= 1
        force = float(np.clip(action[0], -1.0, 1.0))
        self.velocity = float(
            np.clip(self.velocity + force * self.POWER, -self.MAX_SPEED, self.MAX_SPEED)
        )
        self.position = float(
            np.clip(self.position + self.velocity, -self.TRACK_HALF_LENGTH, self.TRACK_HALF_LENGTH)
        )
        if self.position == -self.TRACK_HALF_LENGTH and self.velocity < 0:
            self.velocity = 0.0
        flag = flag_reached(self.position, self.heaven_side)
        terminated = flag is not None
        if self.episodic:
            rew = -1.0 - (self.steps_left if flag == "hell" else 0)
            terminated = terminated or self.steps_left == 0
        else:
            rew = float(flag == "heaven")
        obs = np.array(
            [self.position, self.velocity, self._direction(self.position)], dtype=np.float32
        )
        return obs, rew, terminated, False, {"is_success": flag == "heaven"}


class CarTopEnv(_CarBase):
    """``car-top-v0`` / ``-v1``: the action is the car's next position; observation [x, dir].

    Action: target x in [-1.1, 1.1]. Reward +1 at heaven, -1 at hell; terminated at
    |x| >= 1.
    """

    def __init__(
        self, priest_half_width: float = PRIEST_HALF_WIDTH, render_mode: str | None = None
    ) -> None:
        """Create the env.

        Args:
            priest_half_width: half-width of the cue window around x = 0.5 (0.05 in v1).
            render_mode: ``"rgb_array"`` or None.
        """
        super().__init__(priest_half_width, render_mode)
        half = self.TRACK_HALF_LENGTH
        self.action_space = spaces.Box(-half, half, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(
            np.float32([-half, -1.0]), np.float32([half, 1.0]), dtype=np.float32
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at x ~ U(-0.2, 0.2), heaven on a random side; direction 0."""
        self._new_episode(seed)
        return np.array([self.position, 0.0], dtype=np.float32), {"is_success": False}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Jump to the target position ``action`` (1,)."""
        half = self.TRACK_HALF_LENGTH
        self.position = float(np.clip(action[0], -half, half))
        flag = flag_reached(self.position, self.heaven_side)
        rew = {"heaven": 1.0, "hell": -1.0, None: 0.0}[flag]
        obs = np.array([self.position, self._direction(self.position)], dtype=np.float32)
        return obs, rew, flag is not None, False, {"is_success": flag == "heaven"}


class CarTopRelativeEnv(_CarBase):
    """``car-top-relative-v0``: one action moves the car over 20 low-level substeps.

    Action: displacement in [-1, 1] (the target is clipped to [-1.1, 1.1]). Observation
    (60,): the 20 substeps' [x, 0, direction], oldest first (zeros but the last triple
    [x, 0, 0] at reset). Reward: the sum over substeps of -1, or -(160 - substeps so far)
    for the substep that enters hell, 0 after heaven or hell. Terminated at heaven, hell,
    or after 160 substeps (8 actions).
    """

    SUBSTEPS = 20
    MAX_SPEED = 0.07  # bound of the (always zero) speed entry, as in the original

    def __init__(self, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            render_mode: ``"rgb_array"`` or None.
        """
        super().__init__(PRIEST_HALF_WIDTH, render_mode)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        high = np.tile(np.float32([self.TRACK_HALF_LENGTH, self.MAX_SPEED, 1.0]), self.SUBSTEPS)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.substeps_done = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at x ~ U(-0.2, 0.2), heaven on a random side."""
        self._new_episode(seed)
        self.substeps_done = 0
        obs = np.zeros((self.SUBSTEPS, 3), dtype=np.float32)  # (20, 3) [x, 0, direction]
        obs[-1, 0] = self.position
        return obs.reshape(-1), {"is_success": False}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move by ``action`` (1,) in 20 equal substeps."""
        half = self.TRACK_HALF_LENGTH
        target = float(np.clip(self.position + np.clip(action[0], -1.0, 1.0), -half, half))
        positions = np.linspace(self.position, target, self.SUBSTEPS + 1)[1:]  # (20,)
        obs = np.zeros((self.SUBSTEPS, 3), dtype=np.float32)  # (20, 3)
        rew, flag = 0.0, None
        for i, position in enumerate(positions):
            obs[i, 0], obs[i, 2] = position, self._direction(position)
            if flag is not None:
                continue  # the episode ended at an earlier substep: reward 0
            flag = flag_reached(position, self.heaven_side)
            substeps_so_far = self.substeps_done + i + 1
            rew += -(EPISODE_STEPS - substeps_so_far) if flag == "hell" else -1.0
        self.position = target
        self.substeps_done += self.SUBSTEPS
        terminated = flag is not None or self.substeps_done >= EPISODE_STEPS
        return obs.reshape(-1), rew, terminated, False, {"is_success": flag == "heaven"}


def register() -> None:
    """Register the car flag ids (MES 160) and the one-decision-per-step "-top" ids (MES 10)."""
    for env_id, kwargs in (("car-v0", {}), ("car-episodic-v0", {"episodic": True})):
        register_env(
            env_id,
            f"{__name__}:CarFlagEnv",
            family="car",
            hidden="heaven side (cue only near the priest)",
            max_episode_steps=EPISODE_STEPS,
            kwargs=kwargs,
        )
        register_partial(
            env_id.replace("-v0", "-concat20-v0"),
            env_id,
            family="car",
            hidden="heaven side (20-frame stack)",
            concat=20,
        )
    for env_id, entry, kwargs in (
        ("car-top-v0", "CarTopEnv", {}),
        ("car-top-v1", "CarTopEnv", {"priest_half_width": 0.05}),
        ("car-top-relative-v0", "CarTopRelativeEnv", {}),
    ):
        register_env(
            env_id,
            f"{__name__}:{entry}",
            family="car-top",
            hidden="heaven side (cue only near the priest)",
            max_episode_steps=10,
            kwargs=kwargs,
        )
