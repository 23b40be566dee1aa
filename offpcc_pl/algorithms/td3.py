"""TD3 (Fujimoto et al. 2018): twin critics, target policy smoothing, delayed policy updates."""

from __future__ import annotations

from typing import Any

import torch
from jsonargparse.typing import NonNegativeFloat, PositiveInt
from torch import Tensor

from offpcc_pl.algorithms.base import Feats
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

    def next_value(self, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
        next_act = smoothed_target_action(
            self.actor_target(next_feat), self.hparams.target_noise, self.hparams.noise_clip
        )  # (B, T, A)
        next_q = self.critic_targets(critic_target_feats, next_act)  # (2, B, T, 1)
        return torch.min(next_q[0], next_q[1])  # (B, T, 1)
