"""PyBullet scene of the bumps family: a ground, bumps, and a compliant finger on a carriage.

The original offpcc carried a "shovel" finger with a UR5 arm solved by IK at every waypoint
and loaded its bumps and finger from mesh files we do not have. The
arm only ever moved the finger along y at fixed x=0.6 and z=0.2, so here a kinematic
carriage (a prismatic joint under a strong velocity-limited position motor) does that job;
what matters for the task, the finger-bump contact, is built from primitives with the
original's masses, frictions, joint limits, compliance and the inertias pybullet really
used (measured by running the original next to this scene):

* bump: a cylinder (radius r, height r) capped by a hemisphere of radius r, base at z=0,
  mass 0.1, lateral friction 0.2, rolling friction 1e-4, centre of mass at the base;
* finger: a 5 mm (along y) x 25 mm (along x) blade reaching 150 mm below its hinge (and
  2.5 mm above it), mass 0.02 with its centre of mass at the hinge (the original URDF's
  inertial origin), lateral friction 1.0, on a revolute joint limited to +-60 degrees and
  held at angle 0 by a position motor whose force limit is the stiffness (0.007 to 0.047
  N m, max velocity 1 rad/s), so it deflects when the contact torque exceeds the stiffness.

What the original did implicitly, and this scene does on purpose:

* Inertia. pybullet ignores URDF inertia unless ``URDF_USE_INERTIA_FROM_FILE`` is passed, so
  the original's bodies got the inertia of their collision mesh's bounding box grown by
  3 mm a side, times the URDF's ``inertia_scaling 3``: ~1.06e-4 kg m^2 for a bump (not the
  URDF's 1, which would keep it from ever tipping), ~1.26e-4 about the blade's hinge
  (:func:`mesh_inertia`).
* Size. A convex mesh collides inflated by its 1 mm collision margin; primitives collide at
  their nominal size. So every collision shape here is :data:`COLLISION_MARGIN` larger a side
  than the original's mesh: a 42 mm tall bump of radius 21 mm, a 27 x 7 mm blade whose
  lowest point is 14.9 mm above the ground.
* Carriage speed. The arm stepped its joints 0.001 rad per physics step and an env step
  ended at the first physics step past the target y (or past a limit), with no settling
  after it. The finger thus moved at 0.082 to 0.104 m/s depending on the arm's pose: about
  120 physics steps per 5 cm step. :func:`carriage_speed` is a fit of that speed against y.
* Blade sign. The original reads theta = minus the joint angle, which is negative while
  the blade is bent back moving right (tip trailing to the left): the hinge axis is -x.

Other choices: the ground is an infinite plane (cheaper contacts than the original's ground
box; its top face is the plane here); the tip position is computed from the two joint
positions rather than read from an extra tip link; resting bumps sleep (see
:meth:`BumpsScene.place`); and resets clear Bullet's caches so that seeded episodes replay
(:meth:`BumpsScene.restore`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from offpcc_pl.envs.native_output import native_output_silenced

with native_output_silenced():  # pybullet prints its build time from C when imported
    import pybullet
    from pybullet_utils.bullet_client import BulletClient

TIME_STEP = 1.0 / 240.0  # physics step (s), as the original
# Finger speed (m/s) of the original against the carriage y: a cubic fitted to the speeds
# measured over full sweeps both ways (within 1 mm/s of each), highest power first.
CARRIAGE_SPEED_FIT = (0.14877, -0.13761, -0.02660, 0.10314)
CARRIAGE_FORCE = 50.0  # N; far above any contact force here, so the carriage is kinematic

WORK_X = 0.6  # x of the line the finger travels (m)
CARRIAGE_Z = 0.2  # the original working pose height of the end effector (m)
COLLISION_MARGIN = 0.001  # a convex mesh's collision margin in pybullet (m): see the docstring
MESH_INERTIA_GROWTH = 0.003  # the growth a side of the box pybullet takes a mesh's inertia from
INERTIA_SCALING = 3.0  # "inertia_scaling 3" of the original's bump and finger URDFs
BLADE_LENGTH = 0.15  # hinge to the tip point read as y_g (the original's tip link)
BLADE_MESH_SIZE = (0.025, 0.005, 0.1525)  # x (width), y (thickness), z: 2.5 mm above the hinge
BLADE_MESH_TOP = 0.0025  # how far the blade mesh reaches above its hinge (m)
BLADE_TIP_CLEARANCE = 0.0149  # ground to the lowest point of the blade (m), as measured
HINGE_Z = BLADE_TIP_CLEARANCE + BLADE_LENGTH + COLLISION_MARGIN  # blade hinge height (m)
BLADE_MASS = 0.02
BLADE_ANGLE_LIMIT = math.radians(60.0)
BLADE_MAX_VELOCITY = 1.0  # rad/s, pybullet's default for the original's position motor
CARRIAGE_MASS = 0.1  # the shovel base
CARRIAGE_HALF_EXTENTS = (0.038, 0.038, 0.033)  # the shovel base mesh, about 76x76x65.5 mm

PARK_X = 5.0  # where bumps wait, one spot each, far from everything else
PARK_CARRIAGE_Y = 5.0  # where the carriage waits while resetting
CLEANUP_PASSES = 16  # collision passes that clear stale contact pairs on reset (see restore)

RED = (0.85, 0.1, 0.1, 1.0)
BLUE = (0.1, 0.2, 0.9, 1.0)
GREEN = (0.1, 0.8, 0.2, 1.0)
GHOST_GREEN = (0.1, 0.8, 0.2, 0.35)
MAGENTA = (1.0, 0.0, 1.0, 1.0)
GREY = (0.6, 0.6, 0.6, 1.0)

CARRIAGE_JOINT = 0  # prismatic along y, link 0 of the finger body
BLADE_JOINT = 1  # revolute about x, link 1 of the finger body

ENABLE_SLEEPING = pybullet.ACTIVATION_STATE_ENABLE_SLEEPING
DISABLE_SLEEPING = pybullet.ACTIVATION_STATE_DISABLE_SLEEPING

RenderMode = Literal["human", "rgb_array"]


@dataclass(frozen=True)
class BumpShape:
    """A bump: a cylinder of height ``radius`` capped by a hemisphere of the same radius."""

    radius: float
    mass: float = 0.1
    lateral_friction: float = 0.2

    @property
    def height(self) -> float:
        """Total height (m) of the mesh: cylinder plus hemisphere."""
        return 2.0 * self.radius

    @property
    def collision_radius(self) -> float:
        """Radius (m) the original's mesh collided at: grown by its collision margin."""
        return self.radius + COLLISION_MARGIN


BUMP_40 = BumpShape(radius=0.02)  # the original bump_40 (40 mm tall)
BUMP_50 = BumpShape(radius=0.025)  # the larger bump of the 1-D bump task


def mesh_inertia(mass: float, size: Sequence[float]) -> list[float]:
    """Inertia diagonal (kg m^2) pybullet gave a URDF mesh link of this bounding-box size.

    Without ``URDF_USE_INERTIA_FROM_FILE`` pybullet takes a solid box's inertia from the
    collision mesh's bounding box grown by :data:`MESH_INERTIA_GROWTH` a side, scaled by
    the URDF's ``inertia_scaling``. This reproduces the original's values read back with
    ``getDynamicsInfo`` (bump 1.058e-4; blade 1.304e-4, 1.262e-4, 5.41e-6).

    Args:
        mass: the link's mass (kg).
        size: the mesh's bounding box ``(x, y, z)`` (m).
    """
    x, y, z = (extent + 2.0 * MESH_INERTIA_GROWTH for extent in size)
    box = mass / 12.0 * INERTIA_SCALING
    return [box * (y * y + z * z), box * (x * x + z * z), box * (x * x + y * y)]


def carriage_speed(y: float) -> float:
    """Speed (m/s) of the original's finger at carriage y (0.082 to 0.104 m/s over +-0.38)."""
    return float(np.polyval(CARRIAGE_SPEED_FIT, y))


def sample_union(
    rng: np.random.Generator, intervals: Sequence[tuple[float, float]]
) -> float | None:
    """Draw uniformly from a union of disjoint intervals.

    Each interval is thus picked with probability proportional to its length, as the
    original start-position sampling. Empty intervals (``high <= low``) are dropped.

    Args:
        rng: the env's generator (one draw).
        intervals: ``(low, high)`` pairs.

    Returns:
        The sample, or None when every interval is empty.
    """
    kept = [(low, high) for low, high in intervals if high > low]
    total = sum(high - low for low, high in kept)
    if not kept:
        return None
    offset = float(rng.uniform(0.0, total))
    for low, high in kept:
        if offset <= high - low:
            return low + offset
        offset -= high - low
    return kept[-1][1]  # only reached through rounding at the very top


def _bump_frames(shape: BumpShape) -> list[list[float]]:
    """Centres of a bump's cylinder and hemisphere at its collision size, base at z=0."""
    radius = shape.collision_radius
    return [[0.0, 0.0, radius / 2.0], [0.0, 0.0, radius]]


class BumpsScene:
    """One pybullet world (its own client) with the ground and the finger on its carriage.

    Bodies are created once; :meth:`restore` rewinds the world to the state saved by
    :meth:`save` and clears what Bullet would otherwise carry over between episodes.
    """

    def __init__(self, render_mode: RenderMode | None = None) -> None:
        """Connect (``p.GUI`` for ``"human"``, else ``p.DIRECT``) and build the fixed scene.

        Args:
            render_mode: None, ``"human"`` or ``"rgb_array"``.
        """
        self.render_mode = render_mode
        with native_output_silenced():  # connecting prints "argv[0]=" from C
            self.client = BulletClient(pybullet.GUI if render_mode == "human" else pybullet.DIRECT)
        self.client.setGravity(0.0, 0.0, -9.8)
        self.client.setTimeStep(TIME_STEP)
        # Sorted pairs make the contact solver order independent of history (reproducibility).
        self.client.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        if render_mode == "human":
            self.client.configureDebugVisualizer(pybullet.COV_ENABLE_GUI, 0)
            self.client.resetDebugVisualizerCamera(0.9, 90.0, -20.0, [WORK_X, 0.0, 0.08])
        self._connected = True
        self._state_id: int | None = None
        self._parked = 0
        self._bumps: list[int] = []  # the movable bumps
        self.physics_steps = 0  # run by :meth:`act` since creation (benchmarks report it)
        self._build_ground()
        self.finger = self._build_finger()

    def _build_ground(self) -> None:
        """Ground (friction 1, top face at z=0), a workspace sheet and the three y marks."""
        client = self.client
        # A plane, not the original's ground box (top face at z=0 as here): Bullet's
        # plane contact is cheaper, which makes an env step ~30% faster.
        ground = client.createMultiBody(
            baseMass=0.0,
            baseCollisionShapeIndex=client.createCollisionShape(pybullet.GEOM_PLANE),
            baseVisualShapeIndex=client.createVisualShape(  # the workspace sheet at x=0.5
                pybullet.GEOM_BOX,
                halfExtents=[0.5, 0.6, 0.0005],
                rgbaColor=[0.9, 0.9, 0.85, 1],
                visualFramePosition=[0.5, 0.0, -0.0005],
            ),
        )
        client.changeDynamics(ground, -1, lateralFriction=1.0)
        mark = client.createVisualShape(pybullet.GEOM_SPHERE, radius=0.01, rgbaColor=MAGENTA)
        for y in (-0.4, 0.0, 0.4):
            client.createMultiBody(0.0, -1, mark, [WORK_X, y, 0.0])

    def _build_finger(self) -> int:
        """Fixed base (a rail) -> carriage (prismatic y) -> blade (revolute -x, compliant)."""
        client = self.client
        # The blade hangs below its hinge, at the size the original's mesh collided at.
        half_extents = [extent / 2.0 + COLLISION_MARGIN for extent in BLADE_MESH_SIZE]
        blade_offset = [0.0, 0.0, BLADE_MESH_TOP + COLLISION_MARGIN - half_extents[2]]
        blade_collision = client.createCollisionShape(
            pybullet.GEOM_BOX, halfExtents=half_extents, collisionFramePosition=blade_offset
        )
        blade_visual = client.createVisualShapeArray(
            [pybullet.GEOM_BOX, pybullet.GEOM_SPHERE],
            halfExtents=[half_extents, [0, 0, 0]],
            radii=[0.0, 0.004],
            rgbaColors=[GREY, GREEN],  # the green dot marks the tip, as the original
            visualFramePositions=[blade_offset, [0.0, 0.0, -BLADE_LENGTH]],
        )
        carriage_visual = client.createVisualShape(
            pybullet.GEOM_BOX, halfExtents=CARRIAGE_HALF_EXTENTS, rgbaColor=[0.3, 0.3, 0.35, 1]
        )
        rail_visual = client.createVisualShape(
            pybullet.GEOM_BOX, halfExtents=[0.01, 0.45, 0.01], rgbaColor=[0.2, 0.2, 0.2, 1]
        )
        hinge_drop = HINGE_Z - CARRIAGE_Z
        finger = client.createMultiBody(
            baseMass=0.0,  # fixed base
            baseCollisionShapeIndex=-1,
            baseVisualShapeIndex=rail_visual,
            basePosition=[WORK_X, 0.0, CARRIAGE_Z + CARRIAGE_HALF_EXTENTS[2] + 0.01],
            linkMasses=[CARRIAGE_MASS, BLADE_MASS],
            linkCollisionShapeIndices=[-1, blade_collision],  # the carriage never touches
            linkVisualShapeIndices=[carriage_visual, blade_visual],
            linkPositions=[[0.0, 0.0, -CARRIAGE_HALF_EXTENTS[2] - 0.01], [0.0, 0.0, hinge_drop]],
            linkOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            # The blade's centre of mass is at its hinge, as in the original URDF: moving the
            # carriage then puts no torque on the blade (it stays straight in free motion).
            linkInertialFramePositions=[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            linkParentIndices=[0, 1],
            linkJointTypes=[pybullet.JOINT_PRISMATIC, pybullet.JOINT_REVOLUTE],
            # About -x, so that theta = -angle < 0 when the tip trails left (moving right).
            linkJointAxis=[[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
        )
        # The finger is driven at every step; never let Bullet put it to sleep in between.
        client.changeDynamics(finger, -1, activationState=DISABLE_SLEEPING)
        client.changeDynamics(
            finger,
            BLADE_JOINT,
            lateralFriction=1.0,
            rollingFriction=1e-4,
            localInertiaDiagonal=mesh_inertia(BLADE_MASS, BLADE_MESH_SIZE),
            jointLowerLimit=-BLADE_ANGLE_LIMIT,
            jointUpperLimit=BLADE_ANGLE_LIMIT,
        )
        return finger

    def add_bump(self, shape: BumpShape, rgba: Sequence[float], fixed: bool = False) -> int:
        """Create a bump, parked away from the finger's line, and return its body id.

        Args:
            shape: its size, mass and friction.
            rgba: colour.
            fixed: if True the bump is static (mass 0), as the blocked bump of the 1-D task.
        """
        client = self.client
        radius = shape.collision_radius
        collision = client.createCollisionShapeArray(
            [pybullet.GEOM_CYLINDER, pybullet.GEOM_SPHERE],
            radii=[radius, radius],
            lengths=[radius, 0.0],
            collisionFramePositions=_bump_frames(shape),
        )
        visual = self._bump_visual(shape, rgba)
        bump = client.createMultiBody(0.0 if fixed else shape.mass, collision, visual, self._park())
        # The centre of mass stays at the base, as the original URDF's inertial origin.
        size = [2.0 * shape.radius, 2.0 * shape.radius, shape.height]
        client.changeDynamics(
            bump,
            -1,
            lateralFriction=shape.lateral_friction,
            rollingFriction=1e-4,
            activationState=ENABLE_SLEEPING,  # see `place` and `restore`
            **({} if fixed else {"localInertiaDiagonal": mesh_inertia(shape.mass, size)}),
        )
        if not fixed:
            self._bumps.append(bump)
        return bump

    def add_ghost(self, shape: BumpShape, rgba: Sequence[float]) -> int:
        """Create a visual-only bump (a target marker) and return its body id."""
        return self.client.createMultiBody(0.0, -1, self._bump_visual(shape, rgba), self._park())

    def _bump_visual(self, shape: BumpShape, rgba: Sequence[float]) -> int:
        """A bump's visual shape, drawn at its collision size."""
        radius = shape.collision_radius
        return self.client.createVisualShapeArray(
            [pybullet.GEOM_CYLINDER, pybullet.GEOM_SPHERE],
            radii=[radius, radius],
            lengths=[radius, 0.0],
            rgbaColors=[rgba, rgba],
            visualFramePositions=_bump_frames(shape),
        )

    def _park(self) -> list[float]:
        """A fresh spot, far from the finger and from other parked bodies."""
        self._parked += 1
        return [PARK_X, 0.5 * self._parked, 0.0]

    def add_rails(self, shape: BumpShape, clearance: float = 0.001) -> None:
        """Two fixed rails beside the finger's line, so a bump there can only move along y.

        The original used 0.1 mm thick rails at x = 0.6 +- 0.021, z = 0.02, touching its
        bump's collision surface; ours leave ``clearance`` to it (so they add no friction)
        and are 10 mm thick so that nothing can tunnel through them.
        """
        client = self.client
        half = [0.005, 0.5, 0.005]
        collision = client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half)
        visual = client.createVisualShape(pybullet.GEOM_BOX, halfExtents=half, rgbaColor=GREY)
        for side in (-1.0, 1.0):
            x = WORK_X + side * (shape.collision_radius + clearance + half[0])
            rail = client.createMultiBody(0.0, collision, visual, [x, 0.0, shape.radius])
            # The blade passes 8.5 mm inside the rails and never touches them, but Bullet keeps
            # speculative contacts (and their state) for such near pairs across episodes,
            # which made seeded replays drift; the pair is simply not simulated.
            client.setCollisionFilterPair(rail, self.finger, -1, BLADE_JOINT, 0)

    def save(self) -> None:
        """Park the finger and remember the world (every body parked) for :meth:`restore`."""
        self.client.resetJointState(self.finger, CARRIAGE_JOINT, PARK_CARRIAGE_Y, 0.0)
        self._state_id = self.client.saveState()

    def restore(self) -> None:
        """Rewind to the state saved by :meth:`save`, dropping the last episode's contacts.

        restoreState rewinds poses and velocities but keeps the contact pairs between bodies
        (their points and warm-start impulses) and the bodies' sleep timers. With every body
        parked apart, collision passes drop those pairs (Bullet's broadphase cleans up at
        least one stale pair per pass; the scene never holds :data:`CLEANUP_PASSES`), and one
        physics step zeroes the timers. Measured over 100 seeds per id: a fresh env replays
        a seeded episode bit for bit, and after other episodes the replay differs by float
        rounding only (at most ~1e-8 m); without this clean-up some replays differ by ~1e-7.
        """
        if self._state_id is None:
            return
        client = self.client
        client.restoreState(self._state_id)
        # A body that may not sleep gets its sleep timer (time spent at rest) zeroed on the
        # next step (btMultiBody::checkMotionAndSleepIfRequired); take that step parked.
        for bump in self._bumps:
            client.changeDynamics(bump, -1, activationState=DISABLE_SLEEPING)
        client.stepSimulation()
        for bump in self._bumps:
            client.changeDynamics(bump, -1, activationState=ENABLE_SLEEPING)
        for _ in range(CLEANUP_PASSES):
            client.performCollisionDetection()

    def place(self, body: int, y: float, x: float = WORK_X) -> None:
        """Put ``body`` at rest, upright, with its base at (x, y, 0).

        The body is put to sleep: Bullet wakes it when the finger touches it and puts it
        back to sleep after 2 s at rest, and a resting bump costs nothing; this halves the
        time of an env step (trajectories agree with always-awake bumps to ~1e-9 m).
        """
        client = self.client
        client.resetBasePositionAndOrientation(body, [x, y, 0.0], [0.0, 0.0, 0.0, 1.0])
        client.resetBaseVelocity(body, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
        client.changeDynamics(body, -1, activationState=pybullet.ACTIVATION_STATE_SLEEP)

    def body_y(self, body: int) -> float:
        """World y of ``body``'s base."""
        return float(self.client.getBasePositionAndOrientation(body)[0][1])

    def reset_finger(self, y: float) -> None:
        """Teleport the carriage to ``y`` with the blade straight and everything at rest.

        The original lifted the arm, moved it above ``y`` and lowered it; teleporting gives
        the same start without touching the bumps.
        """
        client = self.client
        client.resetJointState(self.finger, CARRIAGE_JOINT, y, 0.0)
        client.resetJointState(self.finger, BLADE_JOINT, 0.0, 0.0)
        self._hold_carriage(y, carriage_speed(y))
        # The original's reset motor: angle 0, max velocity 0.1, force 0.007.
        client.setJointMotorControl2(
            self.finger,
            BLADE_JOINT,
            pybullet.POSITION_CONTROL,
            targetPosition=0.0,
            force=0.007,
            maxVelocity=0.1,
        )

    def _hold_carriage(self, target_y: float, speed: float) -> None:
        """Drive the carriage toward ``target_y`` at ``speed`` (m/s) and hold it there."""
        self.client.setJointMotorControl2(
            self.finger,
            CARRIAGE_JOINT,
            pybullet.POSITION_CONTROL,
            targetPosition=target_y,
            force=CARRIAGE_FORCE,
            positionGain=1.0,  # reach the target within a physics step once closer than v*dt
            maxVelocity=speed,
        )

    def act(self, delta_y: float, stiffness: float, y_limit: float) -> int:
        """Set the blade stiffness and move the carriage by ``delta_y``: one env step.

        As the original: nothing moves when ``delta_y`` is 0, and the motion ends at the
        first physics step that takes the carriage past its target or past ``+-y_limit``
        (none if it already is), at the original's speed there (:func:`carriage_speed`).

        Args:
            delta_y: signed distance to travel (m).
            stiffness: the blade motor's force limit (N m); the motor holds angle 0.
            y_limit: the carriage stops once past ``y_limit`` in the direction of travel.

        Returns:
            The number of physics steps run.
        """
        client = self.client
        client.setJointMotorControl2(
            self.finger,
            BLADE_JOINT,
            pybullet.POSITION_CONTROL,
            targetPosition=0.0,
            force=stiffness,
            maxVelocity=BLADE_MAX_VELOCITY,
        )
        if delta_y == 0.0:
            return 0
        start_y = self.carriage_y()
        direction = math.copysign(1.0, delta_y)
        distance = min(abs(delta_y), y_limit - direction * start_y)
        if distance < 0.0:
            return 0
        speed = carriage_speed(start_y + delta_y / 2.0)
        sim_steps = math.floor(distance / (speed * TIME_STEP)) + 1
        self._hold_carriage(start_y + direction * sim_steps * speed * TIME_STEP, speed)
        # One physics step per call: pybullet's numSubSteps would scale the motor impulse
        # limits by the outer step and make every finger stiff.
        step_simulation = client.stepSimulation  # bind the client id once, not per step
        for _ in range(sim_steps):
            step_simulation()
        self.physics_steps += sim_steps
        return sim_steps

    def carriage_y(self) -> float:
        """y of the carriage (the original's end-effector y)."""
        return float(self.client.getJointState(self.finger, CARRIAGE_JOINT)[0])

    def finger_state(self) -> tuple[float, float]:
        """Return ``(y_g, theta)``: world y of the blade tip and minus the blade angle."""
        (carriage_y, *_), (angle, *_) = self.client.getJointStates(
            self.finger, [CARRIAGE_JOINT, BLADE_JOINT]
        )
        # Rotating the downward blade by `angle` about -x moves its tip by -L sin(angle) in y.
        return carriage_y - BLADE_LENGTH * math.sin(angle), -angle

    def render_rgb(self, width: int = 320, height: int = 240) -> np.ndarray:
        """A side view of the workspace, ``(height, width, 3)`` uint8, by TinyRenderer."""
        client = self.client
        view = client.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=[WORK_X, 0.0, 0.08],
            distance=0.9,
            yaw=90.0,
            pitch=-20.0,
            roll=0.0,
            upAxisIndex=2,
        )
        projection = client.computeProjectionMatrixFOV(
            fov=60.0, aspect=width / height, nearVal=0.01, farVal=5.0
        )
        _, _, rgba, _, _ = client.getCameraImage(
            width, height, view, projection, renderer=pybullet.ER_TINY_RENDERER
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()

    def __getstate__(self) -> dict:
        # The physics lives in the pybullet client, not in this object: a pickle would be a
        # silent, state-less copy (checkpoints drop the episode in progress instead).
        raise TypeError("a pybullet scene cannot be pickled")

    def close(self) -> None:
        """Disconnect the client (idempotent)."""
        if self._connected:
            self._connected = False
            self.client.disconnect()
