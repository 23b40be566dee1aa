"""The bumps envs (see the package docstring); pybullet is imported only here."""

from __future__ import annotations

import math
from typing import Any, Literal, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs.bumps.scene import (
    BLADE_LENGTH,
    BLUE,
    BUMP_40,
    BUMP_50,
    GHOST_GREEN,
    RED,
    BumpsScene,
    RenderMode,
    sample_union,
)

GRIPPER_Y_LIMIT = 0.38  # the finger tip must stay inside [-0.38, 0.38]
Y_LIMIT = 0.4  # the workspace's y limits: the "real" reset may start the finger up to here
STEP_LENGTH = 0.05  # the largest move of one step (m), at |a0| = 1
STIFFNESS_MIN = 0.007  # blade motor force limit (N m) at a1 = -1

# Discrete mode of the original (off by default): (a0, a1) of {L-soft, L-hard, R-soft, R-hard}.
DISCRETE_ACTIONS = ((-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0))

BUMP_MOVED = 0.001  # a bump counts as moved (wrongly) beyond 1 mm
PUSHED = 0.01  # bump #2 counts as pushed beyond 1 cm

ResetMode = Literal["normal", "test", "real"]


def _render_mode(render_mode: RenderMode | None, rendering: bool) -> RenderMode | None:
    """Resolve the original ``rendering=True`` flag (the GUI) into a gymnasium render mode."""
    if render_mode not in (None, "human", "rgb_array"):
        raise ValueError(
            f"render_mode={render_mode!r} is not supported; use None, 'human' or 'rgb_array'."
        )
    return render_mode if render_mode is not None else ("human" if rendering else None)


class _FingerEnv(gymnasium.Env[np.ndarray, Any]):
    """What the bumps envs share: the scene, moving the finger, rendering and closing."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 5}  # 0.2 s per step

    def __init__(self, render_mode: RenderMode | None) -> None:
        """Build the scene; subclasses add their bodies and then call ``self.scene.save()``."""
        self.render_mode = render_mode
        self.scene = BumpsScene(render_mode)

    def _move(self, delta_y: float, stiffness: float, y_limit: float) -> None:
        """Move the carriage by ``delta_y`` (stopping just past ``+-y_limit``), one env step.

        The carriage stops on the first physics step past the limit, as the original arm did,
        so that driving into a limit ends the episode.
        """
        self.scene.act(delta_y, stiffness, y_limit)

    def render(self) -> np.ndarray | None:
        """``rgb_array``: a side view ``(240, 320, 3)`` uint8; ``human``: the GUI is live."""
        if self.render_mode == "rgb_array":
            return self.scene.render_rgb()
        return None

    def close(self) -> None:
        """Disconnect this env's physics client."""
        self.scene.close()


class BumpsNormEnv(_FingerEnv):
    """Two 40 mm bumps; push the right one (#2, blue) right without moving the left one.

    Action ``[a0, a1]`` in [-1, 1]: move the finger by ``0.05 * a0`` along y (stopping at the
    limits; ``a0 == 0`` runs no physics) with blade stiffness ``0.007 + (a1 + 1) / 2 * 0.04``
    N m. Observation ``[y_g, theta]``: world y of the blade tip and minus the blade angle
    (negative when the blade is bent back while moving right). r = 1 once bump #2 moved
    right by more than 1 cm with the tip still left of it; the episode ends then, when a
    bump moved wrongly (#1 by more than 1 mm, #2 left by more than 1 mm; r = -1 with
    ``punish``, even in the step of a success, as the original), or when the tip reaches a
    y limit (+-0.38).
    """

    def __init__(
        self,
        punish: bool = False,
        reset_mode: ResetMode = "normal",
        default_option_index: int | None = None,
        action_failure_prob: float = -1.0,
        discrete: bool = False,
        render_mode: RenderMode | None = None,
        rendering: bool = False,
    ) -> None:
        """Create the env.

        Args:
            punish: r = -1 (instead of 0) when a bump is moved wrongly.
            reset_mode: ``"normal"`` (random layout, DOMAINS.md §1), ``"test"`` (three
                layouts) or ``"real"`` (bumps dropped at random).
            default_option_index: ``"test"`` mode only: always use layout 1, 2 or 3 (the
                original ignored this argument and crashed).
            action_failure_prob: probability that an action is skipped (<= 0: never).
            discrete: use ``Discrete(4)`` = {L-soft, L-hard, R-soft, R-hard} actions.
            render_mode: None, ``"human"`` (pybullet GUI) or ``"rgb_array"``.
            rendering: the original flag; True means ``render_mode="human"``.
        """
        if reset_mode not in ("normal", "test", "real"):
            raise ValueError(f"reset_mode={reset_mode!r}; use 'normal', 'test' or 'real'.")
        if default_option_index not in (None, 1, 2, 3):
            raise ValueError(
                f"default_option_index={default_option_index!r}; use None (random), 1, 2 or 3."
            )
        super().__init__(_render_mode(render_mode, rendering))
        self.punish = punish
        self.reset_mode = reset_mode
        self.default_option_index = default_option_index
        self.action_failure_prob = action_failure_prob
        self.discrete = discrete
        self.action_space = (
            spaces.Discrete(4) if discrete else spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        )
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.bump1 = self.scene.add_bump(BUMP_40, RED)
        self.bump2 = self.scene.add_bump(BUMP_40, BLUE)
        self.scene.save()
        self._bump1_start = 0.0
        self._bump2_start = 0.0

    def _sample_layout(self) -> tuple[float, float, float]:
        """Draw ``(y1, y2, start_y)`` for the reset mode, all from ``self.np_random``."""
        rng = self.np_random
        if self.reset_mode == "test":
            option = self.default_option_index or int(rng.integers(1, 4))
            interval = 0.16
            y1 = -0.4 + interval * option + rng.uniform(-0.03, 0.03)
            y2 = -0.4 + interval * (option + 1) + rng.uniform(-0.03, 0.03)
            return float(y1), float(y2), float(rng.uniform(-0.03, 0.03))
        while True:  # "real" resamples where the original asserted; "normal" never loops
            if self.reset_mode == "normal":
                if rng.random() < 0.5:  # a fair coin decides which bump is drawn first
                    y1 = float(rng.uniform(-0.28, 0.16))
                    y2 = float(rng.uniform(y1 + 0.12, min(y1 + 0.32, 0.28)))
                else:
                    y2 = float(rng.uniform(-0.16, 0.28))
                    y1 = float(rng.uniform(max(y2 - 0.32, -0.28), y2 - 0.12))
                clearance = 0.04
            else:
                drop = float(rng.uniform(-0.35, 0.35))
                other = sample_union(rng, [(-0.35, drop - 0.06), (drop + 0.06, 0.35)])
                assert other is not None  # one side is always at least 0.29 long
                y1, y2 = min(drop, other), max(drop, other)
                clearance = 0.03
            # Length-weighted over the gaps around the bumps; the original's "real" mode draws
            # from the workspace's +-0.4, so its finger may start past a gripper limit.
            start_limit = GRIPPER_Y_LIMIT if self.reset_mode == "normal" else Y_LIMIT
            start_y = sample_union(
                rng,
                [
                    (-start_limit, y1 - clearance),
                    (y1 + clearance, y2 - clearance),
                    (y2 + clearance, start_limit),
                ],
            )
            if start_y is not None:
                return y1, y2, start_y

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Place the bumps and the finger; see :meth:`_sample_layout`.

        ``options={"layout": (y1, y2, start_y)}`` places a chosen layout instead (the bumps'
        base y and the carriage y), for tests and scripted comparisons.
        """
        super().reset(seed=seed)
        layout = (options or {}).get("layout")
        if layout is None:
            y1, y2, start_y = self._sample_layout()
        else:
            y1, y2, start_y = (float(y) for y in layout)
        scene = self.scene
        scene.restore()
        scene.place(self.bump1, y1)
        scene.place(self.bump2, y2)
        scene.reset_finger(start_y)
        self._bump1_start, self._bump2_start = y1, y2
        return self._obs(), {"is_success": False}

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move with the given step ratio and stiffness, then score the bumps' motion."""
        if self.discrete:
            step_ratio, stiffness_ratio = DISCRETE_ACTIONS[int(action)]
        else:
            step_ratio, stiffness_ratio = np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        failed = self.action_failure_prob > 0 and self.np_random.random() < self.action_failure_prob
        if not failed:
            stiffness = STIFFNESS_MIN + (stiffness_ratio + 1.0) / 2.0 * 0.04
            self._move(STEP_LENGTH * float(step_ratio), float(stiffness), GRIPPER_Y_LIMIT)

        tip_y, _ = self.scene.finger_state()
        y1, y2 = self.bump_positions()
        success = y2 - self._bump2_start > PUSHED and tip_y < y2
        wrong_push = any(self.wrong_moves(y1, y2))
        at_limit = tip_y <= -GRIPPER_Y_LIMIT or tip_y >= GRIPPER_Y_LIMIT
        reward = -1.0 if self.punish and wrong_push else float(success)  # -1 overrides +1
        terminated = success or wrong_push or at_limit
        return self._obs(), reward, terminated, False, {"is_success": reward == 1.0}

    def _obs(self) -> np.ndarray:
        return np.array(self.scene.finger_state(), dtype=np.float32)

    def bump_positions(self) -> tuple[float, float]:
        """True ``(y1, y2)`` of the bumps' bases: hidden from the agent, for tests and scripts."""
        return self.scene.body_y(self.bump1), self.scene.body_y(self.bump2)

    def wrong_moves(self, y1: float, y2: float) -> tuple[bool, bool]:
        """``(bump #1 moved, bump #2 moved left)``, each beyond 1 mm, for bumps now at ``y1``,
        ``y2`` (:meth:`bump_positions`): either one ends the episode as a wrong push."""
        return abs(y1 - self._bump1_start) > BUMP_MOVED, y2 - self._bump2_start < -BUMP_MOVED

    def oracle_action(self, obs: np.ndarray) -> np.ndarray:
        """The action of a scripted policy that reads the hidden bump positions (tests and
        benchmarks: the task is solvable). Soft right until past bump #1; from the right of
        bump #2, soft left until clear of its left side; from between the bumps, stiff right
        (the push)."""
        bump1_y, bump2_y = self.bump_positions()
        tip_y, theta = float(obs[0]), float(obs[1])
        carriage_y = tip_y - BLADE_LENGTH * math.sin(theta)  # the tip trails its carriage
        if tip_y < bump1_y + 0.035:
            return np.array([1.0, -1.0], dtype=np.float32)
        if tip_y > bump2_y - 0.03:
            step_ratio = np.clip((bump2_y - 0.06 - carriage_y) / STEP_LENGTH, -1.0, -0.1)
            return np.array([step_ratio, -1.0], dtype=np.float32)
        return np.array([1.0, 1.0], dtype=np.float32)


class BumpTargetEnv(_FingerEnv):
    """One bump on rails; push it to within 5 cm of a visible target (original BumpTargetEnv).

    Action as :class:`BumpsNormEnv` with stiffness range [0.007, 0.057]. Observation
    ``[y_g / 0.4, theta, y_target / 0.4]``; the bump position is hidden. r = 1 and the
    episode ends when ``|y_bump - y_target| <= 0.05``.
    """

    def __init__(self, render_mode: RenderMode | None = None, rendering: bool = False) -> None:
        """Create the env.

        Args:
            render_mode: None, ``"human"`` (pybullet GUI) or ``"rgb_array"``.
            rendering: the original flag; True means ``render_mode="human"``.
        """
        super().__init__(_render_mode(render_mode, rendering))
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
        self.scene.add_rails(BUMP_40)
        self.bump = self.scene.add_bump(BUMP_40, RED)
        self.target_marker = self.scene.add_ghost(BUMP_40, GHOST_GREEN)
        self.scene.save()
        self.target_y = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Bump ~ U[-0.24, 0.24]; start and target each at least 4 cm from it."""
        super().reset(seed=seed)
        rng = self.np_random
        bump_y = float(rng.uniform(-0.24, 0.24))
        gaps = [(-0.24, bump_y - 0.04), (bump_y + 0.04, 0.24)]
        start_y, target_y = sample_union(rng, gaps), sample_union(rng, gaps)
        assert start_y is not None and target_y is not None  # one gap is always >= 0.2 long
        scene = self.scene
        scene.restore()
        scene.place(self.bump, bump_y)
        scene.place(self.target_marker, target_y)
        scene.reset_finger(start_y)
        self.target_y = target_y
        return self._obs(), {"is_success": False}

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move, then check whether the bump is near the target."""
        step_ratio, stiffness_ratio = np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        stiffness = STIFFNESS_MIN + (stiffness_ratio + 1.0) / 2.0 * 0.05
        self._move(STEP_LENGTH * float(step_ratio), float(stiffness), GRIPPER_Y_LIMIT)
        success = abs(self.scene.body_y(self.bump) - self.target_y) <= 0.05
        return self._obs(), float(success), success, False, {"is_success": success}

    def _obs(self) -> np.ndarray:
        tip_y, theta = self.scene.finger_state()
        return np.array([tip_y / 0.4, theta, self.target_y / 0.4], dtype=np.float32)

    def bump_positions(self) -> tuple[float]:
        """True ``(y_bump,)``: hidden from the agent, for tests and scripts."""
        return (self.scene.body_y(self.bump),)


class BumpMDPEnv(_FingerEnv):
    """1-D bump task: one fixed bump, small (go left) or big (go right); the size is observed.

    The original (``domains/bump_mdp.py``) was a MuJoCo gripper over a blocked bump on a
    0..100 axis: bump in [40, 60], gripper limits [10, 90]. Mapped onto our finger line
    (100 units = 0.8 m): bump y ~ U[-0.08, 0.08], tip limits +-0.32. The blade is always
    soft. Action ``[a]`` in [-1, 1]: desired y = 0.4 a, approached by at most 5 cm per step.
    Observation ``[y_g / 0.32, theta, go_left]``. r = 1 on reaching the correct limit; the
    episode ends at either limit.
    """

    Y_LIMIT = 0.32

    def __init__(self, render_mode: RenderMode | None = None, rendering: bool = False) -> None:
        """Create the env.

        Args:
            render_mode: None, ``"human"`` (pybullet GUI) or ``"rgb_array"``.
            rendering: the original flag; True means ``render_mode="human"``.
        """
        super().__init__(_render_mode(render_mode, rendering))
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
        self.small_bump = self.scene.add_bump(BUMP_40, RED, fixed=True)
        self.big_bump = self.scene.add_bump(BUMP_50, BLUE, fixed=True)
        self.scene.save()
        self.go_left = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Bump ~ U[-0.08, 0.08] (small or big by a fair coin); start 5 cm or more from it."""
        super().reset(seed=seed)
        rng = self.np_random
        bump_y = float(rng.uniform(-0.08, 0.08))
        start_y = sample_union(rng, [(-self.Y_LIMIT, bump_y - 0.05), (bump_y + 0.05, self.Y_LIMIT)])
        assert start_y is not None  # both gaps are at least 0.19 long
        self.go_left = bool(rng.random() < 0.5)
        scene = self.scene
        scene.restore()  # both bumps back in their parks
        scene.place(self.small_bump if self.go_left else self.big_bump, bump_y)
        scene.reset_finger(start_y)
        return self._obs(), {"is_success": False}

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move toward the desired y with a soft blade; score on reaching a limit."""
        desired_y = 0.4 * float(np.clip(np.asarray(action, dtype=np.float64), -1, 1)[0])
        tip_y, _ = self.scene.finger_state()
        if abs(tip_y) < self.Y_LIMIT:  # the original did not move once at a limit
            delta_y = np.clip(desired_y - self.scene.carriage_y(), -STEP_LENGTH, STEP_LENGTH)
            self._move(float(delta_y), STIFFNESS_MIN, self.Y_LIMIT)
        tip_y, _ = self.scene.finger_state()
        at_left, at_right = tip_y <= -self.Y_LIMIT, tip_y >= self.Y_LIMIT
        success = (at_left and self.go_left) or (at_right and not self.go_left)
        return self._obs(), float(success), at_left or at_right, False, {"is_success": success}

    def _obs(self) -> np.ndarray:
        tip_y, theta = self.scene.finger_state()
        return np.array([tip_y / self.Y_LIMIT, theta, float(self.go_left)], dtype=np.float32)

    def bump_positions(self) -> tuple[float]:
        """True ``(y_bump,)`` of the bump in use, for tests and scripts."""
        return (self.scene.body_y(self.small_bump if self.go_left else self.big_bump),)
