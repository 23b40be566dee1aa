"""SAC (Haarnoja et al. 2018) with automatic temperature tuning toward entropy -act_dim."""

from __future__ import annotations

import math
from typing import Any

import torch
from jsonargparse.typing import PositiveFloat
from torch import Tensor, nn

from offpcc_pl.algorithms.base import Feats, OffPolicyModule, adam
from offpcc_pl.algorithms.losses import alpha_loss, sac_actor_loss
from offpcc_pl.nets import GaussianActor


class SAC(OffPolicyModule):
    """Soft Actor-Critic: twin critics, tanh-Gaussian actor, no target actor."""

    target_actor = False

    def __init__(
        self,
        init_alpha: PositiveFloat = 1.0,
        target_entropy: float | None = None,
        **kwargs: Any,
    ) -> None:
        """SAC.

        Args:
            init_alpha: initial entropy temperature.
            target_entropy: entropy the temperature is tuned toward (None: -act_dim).
        """
        super().__init__(**kwargs)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(init_alpha)))
        self.target_entropy = -float(self.act_dim) if target_entropy is None else target_entropy

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.detach().exp()

    def make_actor(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> nn.Module:
        return GaussianActor(feat_dim, act_dim, hidden_sizes)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [*super().configure_optimizers(), adam([self.log_alpha], self.hparams.lr)]

    def policy(self, actor: nn.Module, feat: Tensor, deterministic: bool) -> Tensor:
        return actor(feat, deterministic)[0]

    def next_value(self, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
        next_act, next_logp = self.actor(next_feat)  # (B, T, A), (B, T, 1)
        next_q = self.critic_targets(critic_target_feats, next_act)  # (2, B, T, 1)
        return torch.min(next_q[0], next_q[1]) - self.alpha * next_logp  # (B, T, 1)

    def actor_loss(
        self, actor_feat: Tensor, critic_feats: Feats, mask: Tensor | None
    ) -> tuple[Tensor, dict]:
        """Policy loss plus temperature loss: neither has a gradient in the other's
        parameters (alpha and log pi enter detached), so one backward serves both."""
        act, logp = self.actor(actor_feat)  # (B, T, A), (B, T, 1)
        q = self.critics(critic_feats, act, frozen=True)  # (2, B, T, 1)
        loss, metrics = sac_actor_loss(torch.min(q[0], q[1]), logp, self.alpha, mask)
        temperature_loss, alpha_metrics = alpha_loss(
            self.log_alpha, logp, self.target_entropy, mask
        )
        return loss + temperature_loss, {**metrics, **alpha_metrics}
