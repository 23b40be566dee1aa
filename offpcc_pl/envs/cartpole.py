"""Continuous cart-pole: balance (DOMAINS.md section 5) and variable-length swing-up.

Balance uses gym's CartPole Euler equations with a continuous force 30 a; the swing-up is
the PILCO cart-pole (Deisenroth & Rasmussen 2011; zuoxingdong/DeepPILCO ``cartpole_swingup``)
with friction and a pole length drawn at reset from the env's seeded ``np_random`` (the
original used the global numpy RNG). Partially observed ids are views built with
:mod:`offpcc_pl.envs.wrappers`.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs import raster
from offpcc_pl.envs.pendulum import angle_normalize
from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import register_partial

X_THRESHOLD = 2.4  # m, track half-length


def _render_cartpole(x: float, theta: float, pole_length: float) -> np.ndarray:
    """Draw a cart (red) at ``x`` with a pole (blue) at angle ``theta`` (0: upright).

    Returns:
        Frame (144, 336, 3) uint8.
    """
    canvas = raster.Canvas((-2.8, 2.8), (-1.0, 1.4), pixels_per_unit=60)
    frame = canvas.blank()
    canvas.segment(frame, (-X_THRESHOLD, -0.1), (X_THRESHOLD, -0.1), 0.02, raster.BLACK)
    canvas.rect(frame, (x - 0.25, -0.1), (x + 0.25, 0.1), raster.RED)
    tip = (x + pole_length * np.sin(theta), pole_length * np.cos(theta))
    canvas.segment(frame, (x, 0.0), tip, 0.05, raster.BLUE)
    canvas.disc(frame, (x, 0.0), 0.03, raster.BLACK)
    return frame


# --- balance (gym CartPole with a continuous force) ---
GRAVITY = 9.8  # m/s^2
MASS_CART = 1.0  # kg
MASS_POLE = 0.1  # kg
HALF_LENGTH = 0.5  # m, half the pole length
FORCE_MAG = 30.0  # N at |a| = 1
TAU = 0.02  # s per step
THETA_THRESHOLD = 12 * 2 * np.pi / 360  # rad


def cartpole_balance_step(
    x: float, x_dot: float, theta: float, theta_dot: float, force: float
) -> tuple[float, float, float, float]:
    """One explicit Euler step of gym's CartPole equations (Barto, Sutton & Anderson 1983).

    Args:
        x: cart position (m).
        x_dot: cart velocity (m/s).
        theta: pole angle (rad, 0 upright).
        theta_dot: pole angular velocity (rad/s).
        force: force on the cart (N).

    Returns:
        The new ``(x, x_dot, theta, theta_dot)``; positions use the old velocities.
    """
    total_mass = MASS_CART + MASS_POLE
    pole_mass_length = MASS_POLE * HALF_LENGTH
    cos, sin = np.cos(theta), np.sin(theta)
    temp = (force + pole_mass_length * theta_dot**2 * sin) / total_mass
    theta_acc = (GRAVITY * sin - cos * temp) / (
        HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos**2 / total_mass)
    )
    x_acc = temp - pole_mass_length * theta_acc * cos / total_mass
    return (
        float(x + TAU * x_dot),
        float(x_dot + TAU * x_acc),
        float(theta + TAU * theta_dot),
        float(theta_dot + TAU * theta_acc),
    )


class CartPoleContinuousEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """Balance a pole with a continuous force; observation [x, x_dot, theta, theta_dot].

    Reward 1 per step, including the failing one; terminated when |x| > 2.4 m or
    |theta| > 12 degrees. Action a in [-1, 1] (force 30 a N).
    """

    metadata: dict[str, Any] = {"render_modes": raster.RENDER_MODES, "render_fps": 50}

    def __init__(self, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            render_mode: ``"rgb_array"`` or None.
        """
        self.render_mode = raster.check_render_mode(render_mode)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        high = np.array([2 * X_THRESHOLD, np.inf, 2 * THETA_THRESHOLD, np.inf], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.state = np.zeros(4)  # (4,) float64: x, x_dot, theta, theta_dot

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode with every state entry ~ U(-0.05, 0.05)."""
        super().reset(seed=seed)
        self.state = self.np_random.uniform(-0.05, 0.05, size=4)
        return self.state.astype(np.float32), {}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Push the cart with force 30 a for 0.02 s."""
        force = FORCE_MAG * float(np.clip(action[0], -1.0, 1.0))
        self.state = np.array(cartpole_balance_step(*self.state, force))
        x, theta = self.state[0], self.state[2]
        terminated = bool(abs(x) > X_THRESHOLD or abs(theta) > THETA_THRESHOLD)
        return self.state.astype(np.float32), 1.0, terminated, False, {}

    def render(self) -> np.ndarray | None:
        """Draw the cart and pole; (144, 336, 3) uint8."""
        if self.render_mode is None:
            return None
        return _render_cartpole(self.state[0], self.state[2], 2 * HALF_LENGTH)


# --- swing-up with a variable pole length ---
SWING_GRAVITY = 9.82  # m/s^2
SWING_MASS_CART = 0.5  # kg
SWING_MASS_POLE = 0.5  # kg
SWING_FORCE_MAG = 10.0  # N at |a| = 1
FRICTION = 0.1  # N s/m
SWING_DT = 0.01  # s per step
SWING_POLE_LENGTHS = (0.1, 0.6)  # m, drawn at reset


def cartpole_swingup_step(
    x: float,
    x_dot: float,
    theta: float,
    theta_dot: float,
    force: float,
    length: float,
) -> tuple[float, float, float, float]:
    """One explicit Euler step of the PILCO cart-pole with friction, inside the track.

    Args:
        x: cart position (m).
        x_dot: cart velocity (m/s).
        theta: pole angle (rad, 0 upright).
        theta_dot: pole angular velocity (rad/s).
        force: force on the cart (N).
        length: pole length (m).

    Returns:
        The new ``(x, x_dot, theta, theta_dot)``. Positions use the old velocities; a cart
        that would leave |x| <= 2.4 stays where it was and its velocity is reversed.
    """
    m_p, total_mass, g = SWING_MASS_POLE, SWING_MASS_CART + SWING_MASS_POLE, SWING_GRAVITY
    sin, cos = np.sin(theta), np.cos(theta)
    x_acc = (
        -2 * m_p * length * theta_dot**2 * sin
        + 3 * m_p * g * sin * cos
        + 4 * force
        - 4 * FRICTION * x_dot
    ) / (4 * total_mass - 3 * m_p * cos**2)
    theta_acc = (
        -3 * m_p * length * theta_dot**2 * sin * cos
        + 6 * total_mass * g * sin
        + 6 * (force - FRICTION * x_dot) * cos
    ) / (4 * length * total_mass - 3 * m_p * length * cos**2)
    new_x = x + x_dot * SWING_DT
    new_x_dot = x_dot + x_acc * SWING_DT
    if abs(new_x) > X_THRESHOLD:
        new_x, new_x_dot = x, -new_x_dot
    return (
        float(new_x),
        float(new_x_dot),
        float(theta + theta_dot * SWING_DT),
        float(theta_dot + theta_acc * SWING_DT),
    )


class CartPoleSwingUpVarLenEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """Swing up a pole of length 0.1 or 0.6 m (drawn at reset); never terminates.

    Observation: [x, x_dot, cos(theta), sin(theta), theta_dot, length, last action];
    reward -0.1 (norm(theta)^2 + 0.01 theta_dot^2 + x^2) of the new state. Action a in
    [-1, 1] (force 10 a N).
    """

    metadata: dict[str, Any] = {"render_modes": raster.RENDER_MODES, "render_fps": 100}

    def __init__(self, render_mode: str | None = None) -> None:
        """Create the env.

        Args:
            render_mode: ``"rgb_array"`` or None.
        """
        self.render_mode = raster.check_render_mode(render_mode)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        inf = np.inf
        low = [-X_THRESHOLD, -inf, -1.0, -1.0, -inf, min(SWING_POLE_LENGTHS), -1.0]
        high = [X_THRESHOLD, inf, 1.0, 1.0, inf, max(SWING_POLE_LENGTHS), 1.0]
        self.observation_space = spaces.Box(np.float32(low), np.float32(high), dtype=np.float32)
        self.state = np.array([0.0, 0.0, np.pi, 0.0])  # (4,) x, x_dot, theta, theta_dot
        self.length = max(SWING_POLE_LENGTHS)  # m
        self.last_action = 0.0  # clipped

    def _observation(self) -> np.ndarray:
        """Shape (7,) float32, see the class docstring."""
        x, x_dot, theta, theta_dot = self.state
        obs = [x, x_dot, np.cos(theta), np.sin(theta), theta_dot, self.length, self.last_action]
        return np.array(obs, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start hanging down: state ~ N([0, 0, pi, 0], 0.2^2); draw the pole length."""
        super().reset(seed=seed)
        self.state = self.np_random.normal(loc=[0.0, 0.0, np.pi, 0.0], scale=0.2)
        # a (rare) start outside the track would break the observation bounds
        self.state[0] = np.clip(self.state[0], -X_THRESHOLD, X_THRESHOLD)
        self.length = float(self.np_random.choice(SWING_POLE_LENGTHS))
        self.last_action = 0.0
        return self._observation(), {}

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Push the cart with force 10 a for 0.01 s."""
        self.last_action = float(np.clip(action[0], -1.0, 1.0))
        self.state = np.array(
            cartpole_swingup_step(*self.state, SWING_FORCE_MAG * self.last_action, self.length)
        )
        x, _, theta, theta_dot = self.state
        rew = -0.1 * (angle_normalize(theta) ** 2 + 0.01 * theta_dot**2 + x**2)
        return self._observation(), float(rew), False, False, {}

    def render(self) -> np.ndarray | None:
        """Draw the cart and pole; (144, 336, 3) uint8."""
        if self.render_mode is None:
            return None
        return _render_cartpole(self.state[0], self.state[2], self.length)


# base observation [x, x_dot, theta, theta_dot]
_BALANCE_VARIANTS: dict[str, tuple[str, list[int] | None, int, str]] = {
    # id: (base id, kept indices, frames, hidden)
    "cartpole-continuous-long-p-v0": ("cartpole-continuous-long-v0", [0, 2], 1, "velocities"),
    "cartpole-continuous-long-v-v0": ("cartpole-continuous-long-v0", [1, 3], 1, "positions"),
    "cartpole-continuous-long-p-concat5-v0": (
        "cartpole-continuous-long-v0",
        [0, 2],
        5,
        "velocities (5-frame stack)",
    ),
    "cartpole-continuous-long-v-concat10-v0": (
        "cartpole-continuous-long-v0",
        [1, 3],
        10,
        "positions (10-frame stack)",
    ),
    # broken in the original (DOMAINS.md section 0): -pomdp is position-only
    "cartpole-balance-pomdp-v0": ("cartpole-balance-mdp-v0", [0, 2], 1, "velocities"),
    "cartpole-balance-mdp-concat5-v0": ("cartpole-balance-mdp-v0", None, 5, ""),
    # pomdp-baselines naming (Ni et al. 2022) over the 200-step balance task
    "CartPoleContinuous-P-v0": ("cartpole-balance-mdp-v0", [0, 2], 1, "velocities"),
    "CartPoleContinuous-V-v0": ("cartpole-balance-mdp-v0", [1, 3], 1, "positions"),
}
# base observation [x, x_dot, cos, sin, theta_dot, length, last action]
_VAR_LEN_VARIANTS: dict[str, tuple[list[int], int, str]] = {
    "cartpole-var-len-pvl-v0": ([0, 1, 2, 3, 4, 5], 1, ""),
    "cartpole-var-len-pv-v0": ([0, 1, 2, 3, 4], 1, "pole length"),
    "cartpole-var-len-pa-v0": ([0, 2, 3, 6], 1, "velocities, pole length"),
    "cartpole-var-len-pa-concat5-v0": ([0, 2, 3, 6], 5, "velocities, pole length (5 frames)"),
}


def register() -> None:
    """Register the balance ids (MES 1000 / 200) and the swing-up ids (MES 500)."""
    for env_id, steps in (("cartpole-continuous-long-v0", 1000), ("cartpole-balance-mdp-v0", 200)):
        register_env(
            env_id,
            f"{__name__}:CartPoleContinuousEnv",
            family="cartpole",
            max_episode_steps=steps,
        )
    for env_id, (base_id, keep, concat, hidden) in _BALANCE_VARIANTS.items():
        family = "pomdp-baselines" if env_id.startswith("CartPole") else "cartpole"
        register_partial(env_id, base_id, family=family, hidden=hidden, keep=keep, concat=concat)
    # The full observation has no id in the original; it is the base of the variants.
    register_env(
        "cartpole-var-len-v0",
        f"{__name__}:CartPoleSwingUpVarLenEnv",
        family="cartpole-var-len",
        max_episode_steps=500,
    )
    for env_id, (keep, concat, hidden) in _VAR_LEN_VARIANTS.items():
        register_partial(
            env_id,
            "cartpole-var-len-v0",
            family="cartpole-var-len",
            hidden=hidden,
            keep=keep,
            concat=concat,
        )
