"""Morris water maze (DOMAINS.md section 7): find a hidden platform in a circular pool.

The agent is rewarded on the platform and, after 5 steps there, is moved away, so that a
memory of the platform position pays off within an episode. Never terminates; the
registry's time limit (200 steps) truncates. ``info["is_success"]`` says whether the
platform has been found in this episode.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs import raster
from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import register_partial

ARENA_RADIUS = 1.0
STEPS_TO_TELEPORT = 5  # steps on the platform before the agent is moved away
MAX_EPISODE_STEPS = 200


class WaterMazeEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """Water maze with direct moves; observation [x, y, on platform, platform x, platform y].

    Sparse (default): platform radius 0.3, reward 1 and flag 1 while on the platform.
    Dense: platform radius 0.2, reward -distance to the platform centre, flag always 0.
    Action: displacement in [-0.2, 0.2]^2, scaled by 0.2 again (<= 0.04 per axis); a move
    that would leave the pool is undone.
    """

    metadata: dict[str, Any] = {"render_modes": raster.RENDER_MODES, "render_fps": 20}
    MAX_ACTION = 0.2
    MOVE_SCALE = 0.2

    def __init__(self, dense: bool = False, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            dense: dense reward variant (``water-maze-dense-*``).
            render_mode: ``"rgb_array"`` or None.
        """
        self.render_mode = raster.check_render_mode(render_mode)
        self.dense = dense
        self.platform_radius = 0.2 if dense else 0.3
        high = self.MAX_ACTION * np.ones(2, dtype=np.float32)
        self.action_space = spaces.Box(-high, high, dtype=np.float32)
        self.observation_space = spaces.Box(
            low=np.float32([-1, -1, 0, -1, -1]), high=np.float32([1, 1, 1, 1, 1]), dtype=np.float32
        )
        self.position = np.zeros(2)  # (2,) agent x, y
        self.platform = np.zeros(2)  # (2,) platform centre x, y
        self.steps_on_platform = 0  # not reset on leaving the platform
        self.found_platform = False

    def _random_point(self) -> np.ndarray:
        """(theta ~ U(0, 2 pi), r ~ U(0, 1)) in Cartesian coordinates, shape (2,)."""
        theta = self.np_random.uniform(0.0, 2 * np.pi)
        radius = self.np_random.uniform(0.0, ARENA_RADIUS)
        return radius * np.array([np.cos(theta), np.sin(theta)])

    def _random_point_off_platform(self) -> np.ndarray:
        """A :meth:`_random_point` outside the platform (rejection sampling), shape (2,)."""
        while True:
            point = self._random_point()
            if np.linalg.norm(point - self.platform) > self.platform_radius:
                return point

    def _on_platform(self) -> bool:
        return bool(np.linalg.norm(self.position - self.platform) <= self.platform_radius)

    def _observation(self, flag: float) -> np.ndarray:
        """[x, y, flag, platform x, platform y], shape (5,) float32."""
        return np.array([*self.position, flag, *self.platform], dtype=np.float32)

    def _place(self) -> None:
        """Draw the platform (wholly inside the pool), then the agent off the platform."""
        while True:
            self.platform = self._random_point()
            if np.linalg.norm(self.platform) + self.platform_radius <= ARENA_RADIUS:
                break
        self.position = self._random_point_off_platform()

    def _move(self, action: np.ndarray) -> None:
        """Displace the agent by 0.2 * clip(action); undo a move that leaves the pool."""
        action = np.clip(action, -self.MAX_ACTION, self.MAX_ACTION)
        new_position = self.position + self.MOVE_SCALE * action
        if np.linalg.norm(new_position) < ARENA_RADIUS:
            self.position = new_position

    def _move_away(self, info: dict[str, Any]) -> None:
        """After 5 steps on the platform: teleport to a random point off the platform."""
        self.position = self._random_point_off_platform()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode with a new platform and agent position."""
        super().reset(seed=seed)
        self._place()
        self.steps_on_platform = 0
        self.found_platform = False
        return self._observation(0.0), {"is_success": False}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move, reward, and move the agent away after its 5th step on the platform.

        The returned observation shows the position after any move away, with the flag of
        the step (1 if it ended on the platform, sparse variants only).
        """
        self._move(np.asarray(action, dtype=np.float64))
        on_platform = self._on_platform()
        if self.dense:
            rew, flag = -float(np.linalg.norm(self.position - self.platform)), 0.0
        else:
            rew = flag = float(on_platform)
        self.found_platform |= on_platform
        info: dict[str, Any] = {"is_success": self.found_platform}
        if on_platform:
            self.steps_on_platform += 1
            if self.steps_on_platform == STEPS_TO_TELEPORT:
                self._move_away(info)
                self.steps_on_platform = 0
        return self._observation(flag), rew, False, False, info

    def render(self) -> np.ndarray | None:
        """Pool (black ring), platform (cyan), agent (red); (198, 198, 3) uint8."""
        if self.render_mode is None:
            return None
        canvas = raster.Canvas((-1.1, 1.1), (-1.1, 1.1), pixels_per_unit=90)
        frame = canvas.blank()
        canvas.ring(frame, (0.0, 0.0), ARENA_RADIUS, 0.02, raster.BLACK)
        canvas.disc(frame, tuple(self.platform), self.platform_radius, raster.CYAN)
        canvas.disc(frame, tuple(self.position), 0.04, raster.RED)
        return frame


class WaterMazeSimpleEnv(WaterMazeEnv):
    """Water maze with inertia: the action is an acceleration in [-0.03, 0.03]^2.

    The agent starts at the centre; the platform (radius 0.3) is at distance 0.7 in a random
    direction. Velocity is clipped to [-0.1, 0.1] per axis and zeroed when a move that would
    leave the pool is undone. After 5 steps on the platform the agent is put back at the
    centre at rest and ``info["final_pos"]`` holds where it was.
    """

    MAX_ACTION = 0.03
    MAX_SPEED = 0.1
    PLATFORM_DISTANCE = 0.7

    def __init__(self, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            render_mode: ``"rgb_array"`` or None.
        """
        super().__init__(dense=False, render_mode=render_mode)
        self.velocity = np.zeros(2)  # (2,)

    def _place(self) -> None:
        theta = self.np_random.uniform(0.0, 2 * np.pi)
        self.platform = self.PLATFORM_DISTANCE * np.array([np.cos(theta), np.sin(theta)])
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)

    def _move(self, action: np.ndarray) -> None:
        action = np.clip(action, -self.MAX_ACTION, self.MAX_ACTION)
        self.velocity = np.clip(self.velocity + action, -self.MAX_SPEED, self.MAX_SPEED)
        new_position = self.position + self.velocity
        if np.linalg.norm(new_position) < ARENA_RADIUS:
            self.position = new_position
        else:
            self.velocity = np.zeros(2)

    def _move_away(self, info: dict[str, Any]) -> None:
        info["final_pos"] = self.position.astype(np.float32)
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)


def register() -> None:
    """Register the water-maze ids (MES 200); ``-pomdp`` keeps [x, y, on platform]."""
    for name, entry, kwargs in (
        ("water-maze", "WaterMazeEnv", {}),
        ("water-maze-dense", "WaterMazeEnv", {"dense": True}),
        ("water-maze-simple", "WaterMazeSimpleEnv", {}),
    ):
        mdp_id = f"{name}-mdp-v0"
        register_env(
            mdp_id,
            f"{__name__}:{entry}",
            family="water-maze",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs=kwargs,
        )
        register_partial(
            f"{name}-pomdp-v0", mdp_id, family="water-maze", hidden="platform", keep=[0, 1, 2]
        )
    # named -mdp- in the original but built on the -pomdp observation (DOMAINS.md section 7)
    register_partial(
        "water-maze-simple-mdp-concat10-v0",
        "water-maze-simple-mdp-v0",
        family="water-maze",
        hidden="platform (10-frame stack)",
        keep=[0, 1, 2],
        concat=10,
    )
