"""SAC (Haarnoja et al. 2018) with automatic temperature tuning toward entropy -act_dim."""

from __future__ import annotations

import math
from typing import Any

import torch
from jsonargparse.typing import PositiveFloat
from torch import Tensor, nn

from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.algorithms.update import adam, sac_actor_stage, sac_next_value
from offpcc_pl.nets import GaussianActor


class SAC(OffPolicyModule):
    """Soft Actor-Critic: twin critics, tanh-Gaussian actor, no target actor."""

    target_actor = False
    next_value = sac_next_value
    actor_stage = sac_actor_stage

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
