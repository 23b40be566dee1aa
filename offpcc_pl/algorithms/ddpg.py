"""DDPG (Lillicrap et al. 2016) with the seed's defaults: one critic, target actor and critic."""

from __future__ import annotations

from typing import Any

from jsonargparse.typing import NonNegativeFloat
from torch import Tensor, nn

from offpcc_pl.algorithms.base import OffPolicyModule
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
        self, actor_feat: Tensor, critic_feats: list[Tensor], mask: Tensor | None
    ) -> tuple[Tensor, dict]:
        q = self.critics[0](critic_feats[0], self.actor(actor_feat))  # (B, T, 1)
        return deterministic_actor_loss(q, mask)


class DDPG(DeterministicPolicyModule):
    """Deep Deterministic Policy Gradient."""

    twin_critics = False

    def __init__(self, action_noise: NonNegativeFloat = 0.1, **kwargs: Any) -> None:
        """DDPG.

        Args:
            action_noise: std of the Gaussian exploration noise (actions in [-1, 1]).
        """
        super().__init__(**kwargs)

    def target_value(
        self,
        actor_feat_next: Tensor,
        target_feats_next: list[Tensor],
        actor_target_feat_next: Tensor | None,
    ) -> Tensor:
        next_act = self.actor_target(actor_target_feat_next)  # (B, T, A)
        return self.critic_targets[0](target_feats_next[0], next_act)  # (B, T, 1)
