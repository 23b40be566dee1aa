"""offpcc-pl: off-policy RL for continuous control with recurrent agents, on PyTorch Lightning."""

from __future__ import annotations

from offpcc_pl import envs as envs  # registers every domain id with gymnasium

__version__ = "0.1.0"

_LAZY = {"load_policy", "Policy"}  # offpcc_pl.policy imports torch: only on first use


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from offpcc_pl import policy

        return getattr(policy, name)
    raise AttributeError(f"module 'offpcc_pl' has no attribute {name!r}")
