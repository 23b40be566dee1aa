"""DDPG (Lillicrap et al. 2016) with the seed's defaults: one critic, target actor and critic."""

from __future__ import annotations

from typing import Any

from jsonargparse.typing import NonNegativeFloat
from torch import nn

from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.algorithms.update import ddpg_next_value, deterministic_actor_stage
from offpcc_pl.nets import DeterministicActor


class DeterministicPolicyModule(OffPolicyModule):
    """Deterministic actor with Gaussian exploration noise (DDPG, TD3; the noise is added
    where it acts, :class:`offpcc_pl.policy.Policy`)."""

    actor_stage = deterministic_actor_stage

    def make_actor(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> nn.Module:
        return DeterministicActor(feat_dim, act_dim, hidden_sizes)


class DDPG(DeterministicPolicyModule):
    """Deep Deterministic Policy Gradient."""

    twin_critics = False
    next_value = ddpg_next_value

    def __init__(self, action_noise: NonNegativeFloat = 0.1, **kwargs: Any) -> None:
        """DDPG.

        Args:
            action_noise: std of the Gaussian exploration noise (actions in [-1, 1]).
        """
        super().__init__(**kwargs)
