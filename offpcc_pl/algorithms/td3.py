"""TD3 (Fujimoto et al. 2018): twin critics, target policy smoothing, delayed policy updates."""

from __future__ import annotations

from typing import Any

from jsonargparse.typing import NonNegativeFloat, PositiveInt

from offpcc_pl.algorithms.ddpg import DeterministicPolicyModule
from offpcc_pl.algorithms.update import td3_next_value


class TD3(DeterministicPolicyModule):
    """Twin Delayed DDPG."""

    next_value = td3_next_value

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
