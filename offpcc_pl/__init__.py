"""offpcc-pl: off-policy RL for continuous control with recurrent agents, on PyTorch Lightning."""

from __future__ import annotations

from offpcc_pl import envs as envs  # registers every domain id with gymnasium

__version__ = "0.1.0"
