"""The MuJoCo "-top" envs of the ICRA experiments: one high-level
action per step.

The original ran them with mujoco_py on its own MJCF and mesh files. The MJCF here is ours,
written from primitives for the ``mujoco`` package; where the physics matters (the gripper's
compliant finger) the sizes, masses and joint parameters are those of the original model
compiled with ``mujoco`` and read back. All randomness comes from the env's ``np_random``
(the original drew the UR5's and the ant's start from the global numpy RNG).

* ``bump-top-v0`` / ``box-top-v0``: a gripper slides along x over one fixed obstacle at
  x = 50 and feels it only through its soft finger's angle. Small bump (4 tall): go left;
  big bump (5 tall): go right. ``box-top``: an 8 cm box: go left; no box: go right.
* ``ant-reacher-top-v0``: the action places the ant's torso in a walled arena; heaven and
  hell are in the two top corners, and the priest (bottom right) shows heaven's position.
* ``ur5-top-v0`` / ``ur5-mdp-top-v0``: set three UR5 joint angles to reach a random goal
  configuration within 10 degrees; the goal is shown for 10 steps after the arm visits a
  "switch" configuration (``-mdp``: always shown).

``mujoco`` is imported only when one of these envs is made.
"""

from __future__ import annotations

import math
from typing import Any, Literal, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from offpcc_pl.envs.registry import register_env

RenderMode = Literal["human", "rgb_array"]

# The gripper ("gripah") model, in the original's units (1 unit = 1 cm; no gravity). The
# fingers hinge 17.55 above the floor and the wide finger's tip site is 15 below the hinge,
# 2.55 above the floor. Each finger collides with a box the size and pose of its tip mesh's
# bounding box in the original (about 1.5 x 1.5 x 8.7, slanted 0.28 rad); the narrow finger
# is turned 0.9 rad away at reset.
GRIPAH_XML = """
<mujoco model="gripah-1d">
  <compiler angle="radian"/>
  <option timestep="0.002" gravity="0 0 0"/>
  <default>
    <joint armature="1" damping="1"/>
    <geom condim="3" friction="1 0.1 0.1"/>
  </default>
  <worldbody>
    <light directional="true" diffuse="0.8 0.8 0.8" pos="0 -10 20" dir="0 1 -1"/>
    <geom name="floor" type="plane" size="480 480 1" rgba="0.75 0.75 0.75 1"/>
    <body name="carriage" pos="0 0 30">
      <joint name="slide_x" type="slide" axis="1 0 0" limited="true" range="0 100"/>
      <geom type="cylinder" size="5 1" mass="0.01" rgba="0.9 0.92 0.93 1"/>
      <body name="wrist" pos="0 0 -6.95">
        <inertial pos="0 0 2.04" mass="0.18" diaginertia="1 1 1"/>
        <geom type="box" size="1.9 4.5 3.2" pos="0 0 1.2" contype="0" conaffinity="0"
              rgba="0.9 0.92 0.93 1"/>
        <site name="gripah_center" size="0.1"/>
        <body name="wide_finger" pos="0 0 -5.5">
          <inertial pos="-1.53 0 -5.7" mass="1.67e-5" diaginertia="1.01 1 0.99"/>
          <joint name="hinge_wide" type="hinge" axis="0 1 0" limited="true"
                 range="-1.0472 1.0472" damping="50" stiffness="200"/>
          <geom type="box" fromto="-0.96 0 0.8 -2.2 0 -6.8" size="0.5 1.2"
                contype="0" conaffinity="0" rgba="0.9 0.92 0.93 1"/>
          <geom name="wide_finger_tip" type="box" fromto="-2.517 0 -6.806 -0.184 0 -14.996"
                size="0.729 0.75" rgba="0.6 0.6 0.65 1"/>
          <site name="wide_finger_tip" pos="-0.375 0 -15" size="0.1" rgba="0 0 0 1"/>
        </body>
        <body name="narrow_finger" pos="0 0 -5.5">
          <inertial pos="-1.39 0 -5.256" mass="1.66e-5" diaginertia="1.03 1 0.97"/>
          <joint name="hinge_narrow" type="hinge" axis="0 1 0" limited="true"
                 range="-1.0472 1.0472" damping="50" stiffness="1"/>
          <geom type="box" fromto="0.95 0 0.8 2.1 0 -6.6" size="0.5 0.75"
                contype="0" conaffinity="0" rgba="0.9 0.92 0.93 1"/>
          <geom name="narrow_finger_tip" type="box" fromto="2.335 0 -6.56 -0.187 0 -15.004"
                size="0.779 0.75" rgba="0.6 0.6 0.65 1"/>
        </body>
      </body>
    </body>
    <body name="obstacle" pos="-500 0 0">
      {obstacle}
    </body>
  </worldbody>
  <contact>
    <exclude body1="wide_finger" body2="narrow_finger"/>
    <exclude body1="wrist" body2="wide_finger"/>
    <exclude body1="wrist" body2="narrow_finger"/>
  </contact>
  <actuator>
    <velocity name="velocity_x" joint="slide_x" kv="100"/>
    <position name="position_narrow" joint="hinge_narrow" kp="100"/>
  </actuator>
  <sensor>
    <framepos name="wide_finger_tip" objtype="site" objname="wide_finger_tip"/>
  </sensor>
</mujoco>
"""


def bump_geoms(diameter: float) -> str:
    """MJCF geoms of a fixed bump: a cylinder capped by a hemisphere, base on the floor."""
    radius = diameter / 2.0
    return (
        f'<geom type="cylinder" size="{radius} {radius / 2}" pos="0 0 {radius / 2}" '
        f'rgba="1 0 0 1"/><geom type="sphere" size="{radius}" pos="0 0 {radius}" rgba="1 0 0 1"/>'
    )


OBSTACLES = {  # the geoms in the obstacle body, per (task, go_left)
    ("bump", True): bump_geoms(4.0),  # the small bump: go left
    ("bump", False): bump_geoms(5.0),  # the big bump: go right
    ("box", True): '<geom type="box" size="4 4 4" pos="0 0 4" rgba="1 0 0 1"/>',
    ("box", False): "",  # no box: go right
}


class _MujocoTopEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """A MuJoCo model with a lazily made renderer (gymnasium's ``MujocoRenderer``)."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 5}

    def __init__(self, render_mode: RenderMode | None, obs_dim: int, act_dim: int) -> None:
        if render_mode not in (None, "human", "rgb_array"):
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use None, 'human' or 'rgb_array'."
            )
        self.render_mode = render_mode
        self._renderer: Any = None
        self.action_space = spaces.Box(-1.0, 1.0, shape=(act_dim,), dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_dim,), dtype=np.float32)

    def _load(self, xml: str) -> tuple[Any, Any]:
        """Compile ``xml`` and return ``(model, data)``."""
        if self.render_mode == "rgb_array":
            from offpcc_pl.envs.rendering import use_egl_when_headless

            use_egl_when_headless()
        import mujoco

        model = mujoco.MjModel.from_xml_string(xml)
        return model, mujoco.MjData(model)

    def _renderer_for(self, model: Any, data: Any) -> Any:
        if self._renderer is None:
            from gymnasium.envs.mujoco.mujoco_rendering import MujocoRenderer

            self._renderer = MujocoRenderer(model, data, width=480, height=480)
        return self._renderer

    def render(self) -> np.ndarray | None:
        """An image ``(480, 480, 3)`` for ``rgb_array``; a window for ``human``."""
        if self.render_mode is None:
            return None
        return self._renderer_for(self.model, self.data).render(self.render_mode)

    def close(self) -> None:
        """Close the renderer, if one was made."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class GripahTopEnv(_MujocoTopEnv):
    """A soft finger slides along x over one obstacle at x = 50 (original bump_top / box_top).

    Action ``[a]`` in [-1, 1]: desired tip x = 50 (a + 1), reached by the original's P
    controller (rounds of 100 physics steps at velocity ``desired - x``, until within 1 or
    50 rounds). Observation ``[x_g / 100, theta]``: tip x and minus the finger angle. r = +1
    at the correct limit and -1 at the wrong one; the episode ends at either limit.
    """

    X_RIGHT = 100.0
    OBSTACLE_X = 50.0
    TIP_OFFSET = 0.375  # carriage x - tip x with the finger straight

    def __init__(
        self, task: Literal["bump", "box"] = "bump", render_mode: RenderMode | None = None
    ):
        """Create the env.

        Args:
            task: ``"bump"`` (small or big bump) or ``"box"`` (an 8 cm box or nothing).
            render_mode: None, ``"human"`` or ``"rgb_array"``.
        """
        if task not in ("bump", "box"):
            raise ValueError(f"task={task!r}; use 'bump' or 'box'.")
        super().__init__(render_mode, obs_dim=2, act_dim=1)
        self.task = task
        self.x_limit = 10.0 if task == "bump" else 5.0  # tip limits: [x_limit, 100 - x_limit]
        self.start_clearance = 4.0 if task == "bump" else 6.0  # start this far from x = 50
        # One compiled model per layout: the obstacle's shape is what tells left from right.
        self._models = {
            go_left: self._load(GRIPAH_XML.replace("{obstacle}", OBSTACLES[task, go_left]))
            for go_left in (True, False)
        }
        self.model, self.data = self._models[True]
        self.go_left = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Tip x ~ U[limits], ``start_clearance`` or more from the obstacle; a coin picks it."""
        import mujoco

        super().reset(seed=seed)
        rng = self.np_random
        while True:
            tip_x = float(rng.uniform(self.x_limit, self.X_RIGHT - self.x_limit))
            if abs(tip_x - self.OBSTACLE_X) >= self.start_clearance:
                break
        self.go_left = bool(rng.random() >= 0.5)
        if self._renderer is not None and self.model is not self._models[self.go_left][0]:
            self.close()  # the renderer belongs to the other model
        self.model, self.data = self._models[self.go_left]
        mujoco.mj_resetData(self.model, self.data)
        self.model.body("obstacle").pos[0] = self.OBSTACLE_X
        self.data.qpos[:] = [tip_x + self.TIP_OFFSET, 0.0, -0.9]  # narrow finger turned away
        self.data.ctrl[:] = [0.0, -0.9]
        mujoco.mj_step(self.model, self.data)
        return self._obs(), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        """Move toward the desired x (unless at a limit), then score the limits."""
        import mujoco

        desired_x = 50.0 * (float(np.clip(np.asarray(action).reshape(-1)[0], -1, 1)) + 1.0)
        tip_x = self._tip_x()
        if self.x_limit < tip_x < self.X_RIGHT - self.x_limit:
            for _ in range(50):
                if abs(tip_x - desired_x) < 1.0:
                    break
                self.data.ctrl[0] = desired_x - tip_x  # a P controller on velocity
                for _ in range(100):
                    mujoco.mj_step(self.model, self.data)
                tip_x = self._tip_x()
        at_left, at_right = tip_x <= self.x_limit, tip_x >= self.X_RIGHT - self.x_limit
        correct = at_left if self.go_left else at_right
        reward = 1.0 if correct else (-1.0 if at_left or at_right else 0.0)
        obs = self._obs()
        return obs, reward, at_left or at_right, False, {"is_success": correct}

    def _tip_x(self) -> float:
        return float(self.data.sensordata[0])

    def _obs(self) -> np.ndarray:
        theta = -float(self.data.qpos[1])
        return np.array([self._tip_x() / self.X_RIGHT, theta], dtype=np.float32)


ANT_XML_LEG = """
      <body pos="0 0 0">
        <geom fromto="0 0 0 {x} {y} 0" size="0.08" type="capsule"/>
        <body pos="{x} {y} 0">
          <joint axis="0 0 1" range="-30 30" type="hinge"/>
          <geom fromto="0 0 0 {x} {y} 0" size="0.08" type="capsule"/>
          <body pos="{x} {y} 0">
            <joint axis="{ax} {ay} 0" range="{low} {high}" type="hinge"/>
            <geom fromto="0 0 0 {x2} {y2} 0" size="0.08" type="capsule"/>
          </body>
        </body>
      </body>"""


def _ant_legs() -> str:
    """The four legs of the standard MuJoCo ant, in the order of its qpos."""
    legs = []
    for x, y, (axis_x, axis_y), (low, high) in (
        (0.2, 0.2, (-1, 1), (30, 70)),
        (-0.2, 0.2, (1, 1), (-70, -30)),
        (-0.2, -0.2, (-1, 1), (-70, -30)),
        (0.2, -0.2, (1, 1), (30, 70)),
    ):
        leg = {"x": x, "y": y, "x2": 2 * x, "y2": 2 * y, "ax": axis_x, "ay": axis_y}
        legs.append(ANT_XML_LEG.format(**leg, low=low, high=high))
    return "".join(legs)


ANT_XML = """
<mujoco model="ant-reacher">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.02"/>
  <default>
    <joint armature="1" damping="1" limited="true"/>
    <geom conaffinity="0" condim="3" density="5.0" friction="1 0.5 0.5" margin="0.01"
          rgba="0.8 0.6 0.4 1"/>
  </default>
  <worldbody>
    <light directional="true" diffuse="1 1 1" dir="0 0 -1.3" pos="0 0 1.3"/>
    <geom conaffinity="1" name="floor" size="40 40 40" type="plane" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 0.75">
      <geom size="0.25" type="sphere"/>
      <joint armature="0" damping="0" limited="false" margin="0.01" name="root" type="free"/>
      {legs}
    </body>
    <geom type="box" pos="8.25 0.125 1" size="0.25 8.25 1" conaffinity="1" rgba="0.4 0.4 0.4 1"/>
    <geom type="box" pos="0 8.25 1" size="8.5 0.25 1" conaffinity="1" rgba="0.4 0.4 0.4 1"/>
    <geom type="box" pos="-8.25 0.125 1" size="0.25 8.5 1" conaffinity="1" rgba="0.4 0.4 0.4 1"/>
    <geom type="box" pos="0 -8.25 1" size="8.5 0.25 1" conaffinity="1" rgba="0.4 0.4 0.4 1"/>
    <site name="left_flag" type="sphere" pos="-6.25 6.75 0.4" size="1.9" rgba="1 1 1 0.4"/>
    <site name="right_flag" type="sphere" pos="6.25 6.75 0.4" size="1.9" rgba="1 1 1 0.4"/>
    <site name="priest" type="sphere" pos="5.25 -5.75 0.4" size="1.9" rgba="0 0 1 0.4"/>
  </worldbody>
</mujoco>
"""


class AntReacherTopEnv(_MujocoTopEnv):
    """Place the ant (action -> torso xy) within 1.9 of heaven, not of hell (ant_reacher_top).

    Action ``[a_x, a_y]`` in [-1, 1]: the torso's xy is set to ``8 a`` and the model is
    stepped once. Observation ``[x, y, heaven_x, heaven_y]``, heaven's position being zeros
    unless the torso is within 1.9 of the priest at (5.25, -5.75). r = +1 within 1.9 of
    heaven, -1 of hell; either ends the episode.
    """

    FLAGS = ((-6.25, 6.75), (6.25, 6.75))  # heaven is one of them, hell the other
    PRIEST = (5.25, -5.75)
    RADIUS = 1.9
    ARENA = 8.0  # half width the action is scaled to
    INIT_QPOS = (0, 0, 0.55, 1, 0, 0, 0, 0, 1, 0, -1, 0, -1, 0, 1)

    def __init__(self, render_mode: RenderMode | None = None) -> None:
        """Create the env.

        Args:
            render_mode: None, ``"human"`` or ``"rgb_array"``.
        """
        super().__init__(render_mode, obs_dim=4, act_dim=2)
        self.model, self.data = self._load(ANT_XML.replace("{legs}", _ant_legs()))
        self.heaven = np.zeros(2)
        self.hell = np.zeros(2)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Heaven left or right by a fair coin; the ant at the origin, at rest."""
        import mujoco

        super().reset(seed=seed)
        heaven_right = bool(self.np_random.random() >= 0.5)
        self.heaven = np.array(self.FLAGS[heaven_right])
        self.hell = np.array(self.FLAGS[not heaven_right])
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = self.INIT_QPOS
        mujoco.mj_step(self.model, self.data)
        return self._obs(show_heaven=False), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        """Put the torso at the action's xy, step once, and score the flags."""
        import mujoco

        self.data.qpos[:2] = self.ARENA * np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        mujoco.mj_step(self.model, self.data)
        position = self.data.qpos[:2]
        reward = 0.0
        if np.linalg.norm(position - self.heaven) < self.RADIUS:
            reward = 1.0
        elif np.linalg.norm(position - self.hell) < self.RADIUS:
            reward = -1.0
        near_priest = bool(np.linalg.norm(position - np.array(self.PRIEST)) < self.RADIUS)
        obs = self._obs(show_heaven=near_priest)
        return obs, reward, reward != 0.0, False, {"is_success": reward == 1.0}

    def _obs(self, show_heaven: bool) -> np.ndarray:
        heaven = self.heaven if show_heaven else np.zeros(2)
        return np.concatenate([self.data.qpos[:2], heaven]).astype(np.float32)


# A UR5's first three joints (shoulder pan, shoulder lift, elbow) with the published UR5
# link offsets and inertias; the wrist and gripper the original carried are left out (its
# XML had them commented out too, but for a gripper that only adds a constant load).
UR5_XML = """
<mujoco model="ur5-reacher">
  <compiler angle="radian"/>
  <option impratio="5" cone="elliptic"/>
  <default>
    <joint damping="10"/>
    <geom condim="4" solref="0.01 1" solimp="0.99 0.99 0.01" rgba="0.7 0.7 0.75 1"/>
  </default>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1" directional="true"/>
    <geom name="floor" type="plane" size="5 5 0.1" rgba="0.8 0.8 0.8 1"/>
    <body name="base_link">
      <inertial pos="0 0 0" mass="4" diaginertia="0.0072 0.00443333 0.00443333"/>
      <geom type="cylinder" size="0.075 0.04" pos="0 0 0.04" contype="0" conaffinity="0"/>
      <body name="shoulder_link" pos="0 0 0.089159">
        <inertial pos="0 0 0" mass="3.7" diaginertia="0.0102675 0.0102675 0.00666"/>
        <joint name="shoulder_pan" axis="0 0 1"/>
        <geom type="cylinder" size="0.06 0.07" contype="0" conaffinity="0"/>
        <body name="upper_arm_link" pos="0 0.13585 0" quat="0.707107 0 0.707107 0">
          <inertial pos="0 0 0.28" mass="8.393" diaginertia="0.226891 0.226891 0.0151074"/>
          <joint name="shoulder_lift" axis="0 1 0"/>
          <geom type="capsule" fromto="0 0 0 0 0 0.425" size="0.05"/>
          <body name="forearm_link" pos="0 -0.1197 0.425">
            <inertial pos="0 0 0.25" mass="2.275" diaginertia="0.0494433 0.0494433 0.004095"/>
            <joint name="elbow" axis="0 1 0"/>
            <geom type="capsule" fromto="0 0 0 0 0 0.39225" size="0.04"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def ur5_joint_positions(angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World positions of the forearm and wrist-1 origins for the three joint angles.

    The original's forward kinematics (ur5_top.py), used to keep goals above the table.
    """
    pan, lift, elbow = angles

    def transform(rotation: np.ndarray, offset: tuple[float, float, float]) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:3, :3], matrix[:3, 3] = rotation, offset
        return matrix

    def about_z(angle: float) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def about_y(angle: float) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])

    to_shoulder = transform(np.eye(3), (0.0, 0.0, 0.089159)) @ transform(about_z(pan), (0, 0, 0))
    to_upper_arm = to_shoulder @ transform(about_y(lift), (0.0, 0.13585, 0.0))
    forearm = to_upper_arm @ np.array([0.425, 0.0, 0.0, 1.0])
    to_forearm = to_upper_arm @ transform(about_y(elbow), (0.425, 0.0, 0.0))
    wrist = to_forearm @ np.array([0.39225, -0.1197, 0.0, 1.0])
    return forearm[:3], wrist[:3]


def wrap_angle(angle: float) -> float:
    """The original's ``ur5_bound_angle``: ``|angle| mod 2 pi`` with the sign of ``angle``."""
    return math.copysign(abs(angle) % (2.0 * math.pi), angle)


class Ur5TopEnv(_MujocoTopEnv):
    """Set three UR5 joint angles to reach a hidden goal configuration (ur5_top, ur5_mdp_top).

    Action in [-1, 1]^3: joint angles ``a * (pi, pi/8, pi/4) + (0, -pi/8, 0)``, set directly
    (velocities zeroed) and stepped once. Observation ``[q1, q2, q3, goal (3)]``: the goal is
    zeros except for 10 steps after the arm was within 10 degrees of the switch configuration
    (0, 0, -pi/4) per joint (always with ``goal_always_visible``, after the first step).
    r = 1 and the episode ends when every joint is within 10 degrees of the goal.
    """

    ACTION_SCALE = np.array([math.pi, math.pi / 8, math.pi / 4])
    ACTION_OFFSET = np.array([0.0, -math.pi / 8, 0.0])
    SWITCH = np.array([0.0, 0.0, -math.pi / 4])
    TOLERANCE = math.radians(10.0)
    GOAL_VISIBLE_STEPS = 10
    INIT_QPOS = (0.0, 3.22757851e-03, -1.27944547e-01)  # the pan is drawn in +-pi/8

    def __init__(
        self, goal_always_visible: bool = False, render_mode: RenderMode | None = None
    ) -> None:
        """Create the env.

        Args:
            goal_always_visible: ``ur5-mdp-top``: the goal is in every observation after reset.
            render_mode: None, ``"human"`` or ``"rgb_array"``.
        """
        super().__init__(render_mode, obs_dim=6, act_dim=3)
        self.goal_always_visible = goal_always_visible
        self.model, self.data = self._load(UR5_XML)
        self.goal = np.zeros(3)
        self._steps = 0
        self._switch_step = -1

    def _sample_goal(self) -> np.ndarray:
        """A goal with a pan beyond +-pi/4, the forearm and wrist above the table."""
        rng = self.np_random
        while True:
            goal = np.array(
                [
                    rng.uniform(-math.pi, math.pi),
                    rng.uniform(-math.pi / 4, 0.0),
                    rng.uniform(-math.pi / 4, math.pi / 4),
                ]
            )
            forearm, wrist = ur5_joint_positions(goal)
            if abs(goal[0]) > math.pi / 4 and forearm[2] > 0.05 and wrist[2] > 0.15:
                return goal

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a goal; the arm starts near the original's home, at rest; the goal is hidden."""
        import mujoco

        super().reset(seed=seed)
        self.goal = self._sample_goal()
        self._steps, self._switch_step = 0, -1
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = self.INIT_QPOS
        self.data.qpos[0] = self.np_random.uniform(-math.pi / 8, math.pi / 8)
        mujoco.mj_step(self.model, self.data)
        return self._obs(show_goal=False), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        """Set the joints, step once, check the switch and the goal."""
        import mujoco

        self._steps += 1
        angles = np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        self.data.qpos[:] = angles * self.ACTION_SCALE + self.ACTION_OFFSET
        self.data.qvel[:] = 0.0
        mujoco.mj_step(self.model, self.data)
        joints = np.array([wrap_angle(angle) for angle in self.data.qpos])
        if np.all(np.abs(joints - self.SWITCH) <= self.TOLERANCE):
            self._switch_step = self._steps
        shown = self._switch_step > 0 and self._steps - self._switch_step <= self.GOAL_VISIBLE_STEPS
        success = bool(np.all(np.abs(self.goal - joints) <= self.TOLERANCE))
        obs = self._obs(show_goal=shown or self.goal_always_visible)
        return obs, float(success), success, False, {"is_success": success}

    def _obs(self, show_goal: bool) -> np.ndarray:
        goal = self.goal if show_goal else np.zeros(3)
        return np.concatenate([self.data.qpos, goal]).astype(np.float32)


def register() -> None:
    """Register the five MuJoCo "-top" ids (DOMAINS.md §10)."""
    for env_id, entry, kwargs, hidden, steps in (
        ("bump-top-v0", "GripahTopEnv", {"task": "bump"}, "bump size", 20),
        ("box-top-v0", "GripahTopEnv", {"task": "box"}, "box or no box", 20),
        ("ant-reacher-top-v0", "AntReacherTopEnv", {}, "heaven (shown near the priest)", 20),
        ("ur5-top-v0", "Ur5TopEnv", {}, "goal (shown after the switch)", 200),
        ("ur5-mdp-top-v0", "Ur5TopEnv", {"goal_always_visible": True}, "", 10),
    ):
        register_env(
            env_id,
            f"{__name__}:{entry}",
            family="mujoco-top",
            hidden=hidden,
            max_episode_steps=steps,
            kwargs=kwargs,
        )
