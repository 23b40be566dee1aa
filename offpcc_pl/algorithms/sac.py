"""SAC (Haarnoja et al. 2018) with automatic temperature tuning toward entropy -act_dim."""

from __future__ import annotations

import math
from typing import Any

import torch
from jsonargparse.typing import PositiveFloat
from torch import Tensor, nn

from offpcc_pl.algorithms.base import OffPolicyModule
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
        self._last_logp: Tensor | None = None

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.detach().exp()

    def make_actor(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> nn.Module:
        return GaussianActor(feat_dim, act_dim, hidden_sizes)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        alpha_opt = torch.optim.Adam([self.log_alpha], lr=self.hparams.lr, foreach=True)
        return [*super().configure_optimizers(), alpha_opt]

    def policy(self, actor: nn.Module, feat: Tensor, deterministic: bool) -> Tensor:
        return actor(feat, deterministic)[0]

    def target_value(
        self,
        actor_feat_next: Tensor,
        target_feats_next: list[Tensor],
        actor_target_feat_next: Tensor | None,
    ) -> Tensor:
        next_act, next_logp = self.actor(actor_feat_next)  # (B, T, A), (B, T, 1)
        q1, q2 = (c(f, next_act) for c, f in zip(self.critic_targets, target_feats_next))
        return torch.min(q1, q2) - self.alpha * next_logp  # (B, T, 1)

    def actor_loss(
        self, actor_feat: Tensor, critic_feats: list[Tensor], mask: Tensor | None
    ) -> tuple[Tensor, dict]:
        act, logp = self.actor(actor_feat)  # (B, T, A), (B, T, 1)
        q1, q2 = (c(f, act) for c, f in zip(self.critics, critic_feats))
        self._last_logp = logp
        return sac_actor_loss(torch.min(q1, q2), logp, self.alpha, mask)

    def after_actor_step(self, mask: Tensor | None) -> dict:
        alpha_opt = self.optimizers()[2]
        loss, metrics = alpha_loss(self.log_alpha, self._last_logp, self.target_entropy, mask)
        alpha_opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        alpha_opt.step()
        self._last_logp = None
        return metrics
