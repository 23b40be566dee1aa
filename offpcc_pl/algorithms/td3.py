"""TD3 (Fujimoto et al. 2018): twin critics, target policy smoothing, delayed policy updates."""

from __future__ import annotations

from typing import Any

import torch
from jsonargparse.typing import NonNegativeFloat, PositiveInt
from torch import Tensor

from offpcc_pl.algorithms.ddpg import DeterministicPolicyModule
from offpcc_pl.algorithms.losses import smoothed_target_action


class TD3(DeterministicPolicyModule):
    """Twin Delayed DDPG."""

    def __init__(
        self,
        action_noise: NonNegativeFloat = 0.1,
        target_noise: NonNegativeFloat = 0.2,
        noise_clip: NonNegativeFloat = 0.5,
        policy_delay: PositiveInt = 2,
        **kwargs: Any,
    ) -> None:
        """TD3.

        Args:
            action_noise: std of the Gaussian exploration noise (actions in [-1, 1]).
            target_noise: std of the target policy smoothing noise.
            noise_clip: the smoothing noise is clipped to [-noise_clip, noise_clip].
            policy_delay: critic updates per actor (and target) update.
        """
        super().__init__(**kwargs)

    @property
    def policy_delay(self) -> int:
        return self.hparams.policy_delay

    def target_value(
        self,
        actor_feat_next: Tensor,
        target_feats_next: list[Tensor],
        actor_target_feat_next: Tensor | None,
    ) -> Tensor:
        next_act = smoothed_target_action(
            self.actor_target(actor_target_feat_next),
            self.hparams.target_noise,
            self.hparams.noise_clip,
        )  # (B, T, A)
        q1, q2 = (c(f, next_act) for c, f in zip(self.critic_targets, target_feats_next))
        return torch.min(q1, q2)  # (B, T, 1)
