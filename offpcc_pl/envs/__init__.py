"""Domains of offpcc, registered with gymnasium when ``offpcc_pl`` is imported.

Each family module defines ``register()``, which calls
:func:`~offpcc_pl.envs.registry.register_env` for each of its ids. ``gymnasium.make(
"offpcc_pl:pbc-bumps-normal-pomdp-v0")`` works without importing ``offpcc_pl`` first
(gymnasium imports the module before the id lookup). A family imports its simulator only
when one of its envs is made.
"""

from __future__ import annotations

from offpcc_pl.envs import (
    bumps,
    car,
    cartpole,
    dmc,
    locomotion,
    mujoco_top,
    pendulum,
    reacher,
    water_maze,
    wrappers,
)
from offpcc_pl.envs.registry import CATALOG, EnvInfo, register_env

__all__ = ["CATALOG", "FAMILIES", "EnvInfo", "register_all", "register_env"]

# Family modules, in the order `offpcc-pl envs` lists them.
FAMILIES = (
    wrappers,
    pendulum,
    cartpole,
    water_maze,
    car,
    bumps,
    reacher,
    dmc,
    locomotion,
    mujoco_top,
)


def register_all() -> None:
    """Register every family's ids (idempotent)."""
    for family in FAMILIES:
        family.register()


register_all()
