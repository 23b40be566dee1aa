"""Family `locomotion`: position-only PyBullet locomotion.

The original used ``pybullet_envs``; we use its gymnasium port ``pybullet-envs-gymnasium``
(extra ``[bullet]``, imported only when such an env is made). Joint speeds are hidden by
keeping indices of the base observation with :class:`offpcc_pl.envs.wrappers.KeepIndices`.
Reward and termination are those of the underlying envs.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from offpcc_pl.envs.native_output import native_output_silenced
from offpcc_pl.envs.registry import register_env
from offpcc_pl.envs.wrappers import KeepIndices

BULLET_HINT = "pip install 'offpcc-pl[bullet]'"
MAX_EPISODE_STEPS = 1000

# Base obs (pybullet_envs WalkerBase.calc_state): 8 body dims (height, sin/cos of the angle
# to the target, 3 velocities, roll, pitch), a (position, speed) pair per joint, then foot
# contacts. Keep the body dims, joint positions and contacts.
HALFCHEETAH_P_INDICES = (*range(0, 8), *range(8, 19, 2), *range(20, 26))  # 26 → 20
ANT_P_INDICES = (*range(0, 8), *range(8, 23, 2), *range(24, 28))  # 28 → 20


def make_bullet_p(
    base_id: str, indices: list[int], render_mode: str | None = None
) -> gymnasium.Env:
    """Build a ``pybullet-envs-gymnasium`` env keeping some observation indices.

    Args:
        base_id: the pybullet env id, e.g. ``"HalfCheetahBulletEnv-v0"``.
        indices: indices of its observation to keep.
        render_mode: ``None``, ``"rgb_array"`` or ``"human"``.

    Returns:
        The environment, without a time limit (the registration adds it).
    """
    try:
        import pybullet_envs_gymnasium  # noqa: F401  (registers the *BulletEnv ids)
    except ImportError as error:
        raise gymnasium.error.DependencyNotInstalled(
            f"pybullet locomotion environments need pybullet-envs-gymnasium ({error}); "
            f"install it with: {BULLET_HINT}"
        ) from error
    # .unwrapped: our registration adds the time limit and gymnasium's checkers. Making it
    # imports pybullet, which prints its build time from C.
    with native_output_silenced():
        base_env = gymnasium.make(base_id, render_mode=render_mode).unwrapped
    return KeepIndices(QuietConnect(base_env), list(indices))


class QuietConnect(gymnasium.Wrapper):
    """A pybullet-envs env connects its physics client at its first reset, where pybullet
    prints ``argv[0]=`` from C: that reset runs with the C output silenced."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self.env.unwrapped.physicsClientId >= 0:
            return self.env.reset(**kwargs)
        with native_output_silenced():
            return self.env.reset(**kwargs)


def register() -> None:
    """Register ``halfcheetah-p-v0`` and ``ant-p-v0``."""
    for env_id, base_id, indices in (
        ("halfcheetah-p-v0", "HalfCheetahBulletEnv-v0", HALFCHEETAH_P_INDICES),
        ("ant-p-v0", "AntBulletEnv-v0", ANT_P_INDICES),
    ):
        register_env(
            env_id,
            "offpcc_pl.envs.locomotion:make_bullet_p",
            family="locomotion",
            hidden="joint speeds",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs={"base_id": base_id, "indices": list(indices)},
        )
