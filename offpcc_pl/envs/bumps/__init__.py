"""Family `bumps`: a compliant finger that must find and push bumps it cannot see.

The original offpcc "pbc" robot envs, rebuilt on pybullet
primitives (see :mod:`offpcc_pl.envs.bumps.scene` for the scene and what differs from
the UR5 original). The finger slides along y over one or two bumps; each action picks a
step length and a blade stiffness. A soft blade deflects and passes over a bump, a stiff one
pushes it. The observation is only the finger tip's y and the blade angle, so the bump
positions must be inferred from the angle history: a POMDP.

* ``pbc-bumps-normal-pomdp-v0``: push the right (blue) bump to the right from its left
  side without moving the left (red) one; ``-punish`` variants give -1 for a wrong push;
  ``pbc-bumps-normal-test-v0`` has three layouts; ``-pomdp-real-v0`` drops the bumps at
  random.
* ``pbc-bump-target-pomdp-v0``: push one bump on rails to a visible target.
* ``pbc-bump-mdp-v0``: the 1-D bump task (original: MuJoCo gripper), here in the same scene:
  go left past a small bump, right past a big one; the bump size is observed.

Registration lives here and imports nothing heavy: pybullet loads (and prints its build
banner) only when one of these envs is made.
"""

from __future__ import annotations

from offpcc_pl.envs.registry import register_env


def register() -> None:
    """Register the bumps family's ids (MES 50, except the 1-D MDP with 200)."""
    norm = "offpcc_pl.envs.bumps.envs:BumpsNormEnv"
    punish = {"punish": True}
    bumps_ids = {
        "pbc-bumps-normal-pomdp-v0": {},
        # The original id (offpcc domains/__init__.py); DOMAINS.md calls it "-punish-v0".
        "pbc-bumps-normal-pomdp-punish-v0": punish,
        # The spelling in this project's brief, kept as an alias of the one above.
        "pbc-bumps-normal-punish-pomdp-v0": punish,
        "pbc-bumps-normal-test-v0": {"reset_mode": "test", **punish},
        "pbc-bumps-normal-pomdp-real-v0": {"reset_mode": "real", **punish},
    }
    for env_id, kwargs in bumps_ids.items():
        register_env(
            env_id,
            norm,
            family="bumps",
            hidden="bump positions",
            max_episode_steps=50,
            kwargs=kwargs,
        )
    register_env(
        "pbc-bump-target-pomdp-v0",
        "offpcc_pl.envs.bumps.envs:BumpTargetEnv",
        family="bumps",
        hidden="bump position",
        max_episode_steps=50,
    )
    register_env(
        "pbc-bump-mdp-v0",
        "offpcc_pl.envs.bumps.envs:BumpMDPEnv",
        family="bumps",
        max_episode_steps=200,
    )
