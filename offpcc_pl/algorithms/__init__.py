"""The six algorithms as LightningModules."""

from __future__ import annotations

from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.algorithms.ddpg import DDPG
from offpcc_pl.algorithms.recurrent import RDPG, RSAC, RTD3
from offpcc_pl.algorithms.sac import SAC
from offpcc_pl.algorithms.td3 import TD3
from offpcc_pl.checkpointing.names import ALGORITHM_NAMES

ALGORITHMS = {cls.__name__: cls for cls in (DDPG, TD3, SAC, RDPG, RTD3, RSAC)}
assert tuple(ALGORITHMS) == ALGORITHM_NAMES  # the CLI checks names without importing us

__all__ = ["ALGORITHMS", "DDPG", "RDPG", "RSAC", "RTD3", "SAC", "TD3", "OffPolicyModule"]
