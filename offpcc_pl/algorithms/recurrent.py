"""RDPG, RTD3, RSAC: the feed-forward update rules over (B, T) sequences with masks.

Recurrence is an encoder in front of the same losses: each of the actor and
the critics gets a summarizer (an LSTM/GRU/RNN over the observation history), critic
targets get target summarizers, and the actor loss sees the critics' summaries detached
(the seed's recurrent agents, Ni et al. 2022 "Recurrent model-free RL can be a strong
baseline for many POMDPs" for the separate-summarizer default).
"""

from __future__ import annotations

from typing import Any, Literal

from jsonargparse.typing import NonNegativeInt, PositiveFloat, PositiveInt

from offpcc_pl.algorithms.base import Memory
from offpcc_pl.algorithms.ddpg import DDPG
from offpcc_pl.algorithms.sac import SAC
from offpcc_pl.algorithms.td3 import TD3
from offpcc_pl.envs.make import HistoryInputs
from offpcc_pl.errors import ConfigError
from offpcc_pl.nets import SummarizerKind


class Recurrent:
    """Memory options shared by the recurrent algorithms (mixed in before the update rule)."""

    def __init__(
        self,
        summarizer: SummarizerKind = "lstm",
        summarizer_layers: PositiveInt = 2,
        summarizer_hidden: PositiveInt = 256,
        share_summarizer: Literal["none", "critics", "all"] = "none",
        window: PositiveInt | None = None,
        burn_in: NonNegativeInt = 0,
        summarizer_inputs: HistoryInputs = "obs",
        summarizer_lr: PositiveFloat | None = None,
        batch_size: PositiveInt = 10,
        capacity: PositiveInt | None = None,
        update_after: NonNegativeInt = 10000,
        **kwargs: Any,
    ) -> None:
        """Recurrent options.

        Args:
            summarizer: recurrent cell of the summarizers (lstm, gru or rnn).
            summarizer_layers: stacked recurrent layers.
            summarizer_hidden: summary size.
            share_summarizer: "none": actor, Q1 and Q2 have their own summarizer (seed);
                "critics": Q1 and Q2 share one; "all": one summarizer, trained by the critic
                loss only, feeds the actor as well (cheapest, the actor can't shape it).
            window: train on segments of this many steps instead of whole episodes.
            burn_in: steps before each window that only warm the hidden state (no loss).
            summarizer_inputs: what the summarizers read each step: the observation (seed),
                plus the previous action ("obs_act"), plus the previous reward ("obs_act_rew").
            summarizer_lr: Adam learning rate of the summarizers (None: ``lr``, as the MLP
                heads). RESeL (Luo et al. 2024) trains them at about 1/30 of the heads' rate.
            batch_size: episodes (or windows) per batch.
            capacity: replay capacity in episodes; None: 5000, or episodes worth 100k steps
                for image observations (which go through the conv encoder first).
            update_after: env steps of uniform random actions before the first update.
        """
        memory = Memory(
            summarizer,
            summarizer_layers,
            summarizer_hidden,
            share_summarizer,
            window,
            burn_in,
            summarizer_inputs,
            # a plain float: the rate lands in the saved optimizer state, which loads with
            # weights_only=True and so refuses jsonargparse's PositiveFloat
            None if summarizer_lr is None else float(summarizer_lr),
        )
        super().__init__(
            _memory=memory,
            batch_size=batch_size,
            capacity=capacity,
            update_after=update_after,
            **kwargs,
        )
        self._check_memory()

    def _check_memory(self) -> None:
        """Refuse options that cannot work with this env, in one line."""
        m = self.memory
        if m.burn_in and m.window is None:
            raise ConfigError(f"burn_in={m.burn_in} needs a window (set --model.window)")
        if self.max_episode_steps is None:
            raise ConfigError(
                f"env '{self.hparams.env_id}' has no time limit; recurrent agents store whole "
                "episodes and need one (register it with max_episode_steps)"
            )
        # A batch is burn_in + window steps long (buffers.EpisodeBuffer.sample): beyond the
        # episode limit it is padding only, which a far too long window fills memory with.
        if m.window is not None and m.burn_in + m.window > self.max_episode_steps:
            limit = self.max_episode_steps
            burn_in = f" + --model.burn_in {m.burn_in}" if m.burn_in else ""
            raise ConfigError(
                f"--model.window {m.window}{burn_in} spans {m.burn_in + m.window} steps, but "
                f"env '{self.hparams.env_id}' ends its episodes within {limit}; use window + "
                f"burn_in <= {limit}, or --model.window null to train on whole episodes"
            )


class RDPG(Recurrent, DDPG):
    """Recurrent DDPG (Heess et al. 2015)."""


class RTD3(Recurrent, TD3):
    """Recurrent TD3."""


class RSAC(Recurrent, SAC):
    """Recurrent SAC."""
