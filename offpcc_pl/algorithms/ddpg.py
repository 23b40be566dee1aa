"""DDPG (Lillicrap et al. 2016) with the seed's defaults: one critic, target actor and critic."""

from __future__ import annotations

from typing import Any

from jsonargparse.typing import NonNegativeFloat
from torch import Tensor, nn

from offpcc_pl.algorithms.base import Feats, OffPolicyModule
from offpcc_pl.algorithms.losses import deterministic_actor_loss
from offpcc_pl.nets import DeterministicActor


class DeterministicPolicyModule(OffPolicyModule):
    """Deterministic actor with Gaussian exploration noise (DDPG, TD3)."""

    def make_actor(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> nn.Module:
        return DeterministicActor(feat_dim, act_dim, hidden_sizes)

    def policy(self, actor: nn.Module, feat: Tensor, deterministic: bool) -> Tensor:
        act = actor(feat)  # (1, 1, A)
        if deterministic:
            return act
        return (act + self.hparams.action_noise * act.new_empty(act.shape).normal_()).clamp(-1, 1)

    def actor_loss(
        self, actor_feat: Tensor, critic_feats: Feats, mask: Tensor | None
    ) -> tuple[Tensor, dict]:
        # the first critic only (TD3, Fujimoto et al. 2018, algorithm 1)
        q = self.critics(critic_feats, self.actor(actor_feat), frozen=True, heads=1)  # (1, B, T, 1)
        return deterministic_actor_loss(q[0], mask)


class DDPG(DeterministicPolicyModule):
    """Deep Deterministic Policy Gradient."""

    twin_critics = False

    def __init__(self, action_noise: NonNegativeFloat = 0.1, **kwargs: Any) -> None:
        """DDPG.

        Args:
            action_noise: std of the Gaussian exploration noise (actions in [-1, 1]).
        """
        super().__init__(**kwargs)

    def next_value(self, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
        next_act = self.actor_target(next_feat)  # (B, T, A)
        return self.critic_targets(critic_target_feats, next_act)[0]  # (B, T, 1)
