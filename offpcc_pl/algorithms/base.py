"""OffPolicyModule: the networks of all six algorithms and the LightningModule hooks.

Observations pass through *encoders* before the MLP heads: the identity for DDPG/TD3/SAC
(a transition batch is a T=1 sequence), recurrent summarizers for RDPG/RTD3/RSAC. Image
observations first go through the seed's conv encoder (:mod:`offpcc_pl.encoders`), whose
features the encoders then read. The update is :mod:`offpcc_pl.algorithms.update`; the
subclasses bind its value and actor-loss functions and say how to explore.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pytorch_lightning as pl
import torch
from jsonargparse.typing import ClosedUnitInterval, NonNegativeInt, PositiveFloat, PositiveInt
from torch import Tensor, nn
from torch.utils.data import DataLoader

from offpcc_pl.algorithms.graphs import UpdateGraphs
from offpcc_pl.algorithms.update import (
    Feats,
    critic_and_actor_optimizers,
    run_update,
    target_pairs,
)
from offpcc_pl.buffers import Batch, EpisodeBuffer, TransitionBuffer
from offpcc_pl.checkpointing.files import check_same_run, run_identity
from offpcc_pl.data import ReplayDataset, ResumableLoader
from offpcc_pl.encoders import ConvEncoder
from offpcc_pl.envs.make import HistoryInputs, make_env
from offpcc_pl.envs.wrappers import is_image_space
from offpcc_pl.errors import CheckpointError, ConfigError, TrainingDiverged
from offpcc_pl.monitor import log_at_env_step
from offpcc_pl.nets import Critics, Hidden, PassThrough, Summarizer, SummarizerKind
from offpcc_pl.policy import Policy, describe


def _check_no_image_options(env_id: str, image_embedding: int, shift: int) -> None:
    """The conv encoder's options, given for an env that observes vectors, would be recorded
    in the run's hyperparameters but never applied: refused unless left at their defaults."""
    defaults = inspect.signature(OffPolicyModule.__init__).parameters
    for name, value in (("image_embedding", image_embedding), ("image_shift", shift)):
        if value != defaults[name].default:
            raise ConfigError(
                f"--model.{name} {value}: env '{env_id}' observes vectors, and {name} applies "
                "to image observations only; leave it out"
            )


def _diverged(keys: list[str]) -> str:
    """``["loss/critic", "loss/alpha", "alpha"]`` -> ``"critic and alpha losses"``: each loss
    named once; the temperature (SAC's ``alpha``, not a loss) only where its loss is not."""
    losses = [k.removeprefix("loss/") for k in keys if k.startswith("loss/")]
    parts = []
    if losses:
        names = " and ".join([", ".join(losses[:-1]), losses[-1]] if len(losses) > 1 else losses)
        parts.append(f"{names} {'loss' if len(losses) == 1 else 'losses'}")
    if "alpha" in keys and "alpha" not in losses:
        parts.append("the temperature alpha")
    return " and ".join(parts)


@dataclass(frozen=True)
class Memory:
    """Recurrent options (see :class:`offpcc_pl.algorithms.recurrent.Recurrent`)."""

    kind: SummarizerKind = "lstm"
    layers: int = 2
    hidden_size: int = 256
    share: Literal["none", "critics", "all"] = "none"
    window: int | None = None
    burn_in: int = 0
    inputs: HistoryInputs = "obs"
    lr: float | None = None  # the summarizers' learning rate (None: the module's lr)


class Replay(Protocol):
    """What the module reads of the env loop: the replay callback (:mod:`offpcc_pl.loop`)
    hands itself over as this at setup, so the module never looks for it among the
    trainer's callbacks, and imports run one way (callback -> module)."""

    buffer: TransitionBuffer | EpisodeBuffer | None  # None outside fit
    rng: np.random.Generator  # the generator batches are sampled with
    env_steps: int
    update_due: bool  # the env step just played is followed by an update (warm-up over)

    def play_test_episode(self, policy: Policy, index: int) -> dict[str, float]:
        """Evaluation episode ``index`` played with ``policy``, its ``test/*`` metrics."""
        ...


class OffPolicyModule(pl.LightningModule):
    """Shared base of DDPG, TD3, SAC, RDPG, RTD3 and RSAC (manual optimization).

    Fit and validate need :class:`offpcc_pl.loop.ReplayCallback` among the trainer's
    callbacks (the CLI adds it): it makes the envs and the buffer, plays the env steps and
    the evaluation episodes, and hands itself to the module as :attr:`replay` at setup.
    The module reads the env's spaces once, to size its networks, and keeps no env.
    """

    twin_critics: bool = True
    target_actor: bool = True  # DDPG/TD3 keep a target policy; SAC uses the online one
    # Divergence guard: losses are summed on the device and checked for NaN/inf
    # every this many updates, at the epoch end and before every checkpoint save, so there
    # is no host sync per update and no save ever holds diverged weights.
    divergence_check_every: int = 500

    def __init__(
        self,
        *,
        _memory: Memory | None = None,
        env_id: str = "Pendulum-v1",
        gamma: ClosedUnitInterval = 0.99,
        tau: ClosedUnitInterval = 0.005,
        lr: PositiveFloat = 3e-4,
        batch_size: PositiveInt = 100,
        hidden_sizes: tuple[PositiveInt, ...] = (256, 256),
        capacity: PositiveInt | None = None,
        update_after: NonNegativeInt = 1000,
        updates_per_step: PositiveInt = 1,
        eval_episodes: PositiveInt = 10,
        image_embedding: PositiveInt = 50,
        image_shift: NonNegativeInt = 4,
        compile: bool = False,
    ) -> None:
        """Common options.

        Args:
            env_id: gymnasium id (ours: `offpcc-pl envs`); actions are rescaled to [-1, 1].
            gamma: discount factor.
            tau: soft target update rate (the seed's polyak 0.995 is tau 0.005).
            lr: Adam learning rate of every optimizer.
            batch_size: transitions per batch (recurrent: episodes or windows).
            hidden_sizes: hidden layer widths of the actor and critic MLPs.
            capacity: replay capacity in transitions (recurrent: in episodes); None: 1M, or
                100k for image observations (the seed's; 4.2 GB as uint8 at 3x84x84).
            update_after: env steps of uniform random actions before the first update.
            updates_per_step: gradient updates per env step.
            eval_episodes: deterministic test episodes at each epoch end.
            image_embedding: feature size of the conv encoder (image observations only).
            image_shift: DrQ random-shift augmentation of replayed images, the largest shift
                in pixels (the seed and DrQ: 4); 0 turns it off. Image observations only.
            compile: compile the update's two loss stages with ``torch.compile``. On CUDA
                the whole update of a feed-forward agent is then captured as one CUDA graph
                (``algorithms/graphs.py``); a recurrent agent's stages run as CUDA graphs
                (``mode="reduce-overhead"``). The same losses as without it; not part of a
                run's identity, so a run may resume with or without it.
        """
        super().__init__()
        self.save_hyperparameters(ignore=["_memory"])
        self.automatic_optimization = False
        self.memory = _memory
        env = make_env(env_id, history=self.history)
        self.obs_shape = tuple(int(n) for n in env.observation_space.shape)  # (O,) or (C, H, W)
        self.images = is_image_space(env.observation_space)
        if not self.images:
            _check_no_image_options(env_id, image_embedding=image_embedding, shift=image_shift)
        # the image encoder (identity for vectors) feeds the encoders obs_dim features
        self.image_encoder = (
            ConvEncoder(self.obs_shape, image_embedding) if self.images else nn.Identity()
        )
        self.obs_dim = image_embedding if self.images else self.obs_shape[0]
        self.act_dim = int(env.action_space.shape[0])
        self.max_episode_steps = env.spec.max_episode_steps if env.spec else None
        env.close()
        self._build_networks(list(hidden_sizes))
        self.n_updates = 0  # drives policy delay; checkpointed (never use global_step)
        self._sums: dict[str, Tensor] = {}
        self._n_summed = 0
        self._checked_at = 0  # n_updates at the last divergence check that passed
        self.replay: Replay | None = None  # handed over by the replay callback at setup
        self._compiled: tuple[Any, Any] | None = None  # the compiled loss stages, built lazily
        self._graphs: UpdateGraphs | None = None  # the captured updates, built lazily

    @property
    def history(self) -> HistoryInputs:
        """What the observations carry besides the env's own (:func:`make_env`'s ``history``:
        recurrent agents may observe their last action and reward)."""
        return self.memory.inputs if self.memory else "obs"

    # -- networks ----------------------------------------------------------------------------

    def _encoder(self) -> nn.Module:
        m = self.memory
        if m is None:
            return PassThrough(self.obs_dim)
        return Summarizer(self.obs_dim, m.kind, m.hidden_size, m.layers)

    def _build_networks(self, hidden_sizes: list[int]) -> None:
        n_critics = 2 if self.twin_critics else 1
        share = self.memory.share if self.memory else "none"
        # Shared encoders are the same module object in several places: parameters()
        # deduplicates them, and deepcopy keeps the sharing inside the target copies.
        first = self._encoder()
        critic_encoders = [first] + [
            first if share != "none" else self._encoder() for _ in range(n_critics - 1)
        ]
        self.critic_encoders = nn.ModuleList(critic_encoders)
        self.actor_encoder = first if share == "all" else self._encoder()
        feat_dim = first.output_dim
        self.actor = self.make_actor(feat_dim, self.act_dim, hidden_sizes)
        self.critics = Critics(feat_dim, self.act_dim, hidden_sizes, n_critics)
        self.critic_targets = self._frozen_copy(self.critics)
        self.image_encoder_target = self._frozen_copy(self.image_encoder)
        self.critic_encoder_targets = self._frozen_copy(self.critic_encoders)
        if self.target_actor:
            self.actor_target = self._frozen_copy(self.actor)
            self.actor_encoder_target = (
                self.critic_encoder_targets[0]
                if share == "all"
                else self._frozen_copy(self.actor_encoder)
            )
        if self.memory is not None:
            # The acting policy is frozen for the length of an episode (the seed's behaviour):
            # a copy synced at episode boundaries, checkpointed with the module.
            acting = {"image": self.image_encoder, "encoder": self.actor_encoder}
            self.acting = self._frozen_copy(nn.ModuleDict({**acting, "actor": self.actor}))

    @staticmethod
    def _frozen_copy(module: nn.Module) -> nn.Module:
        return copy.deepcopy(module).requires_grad_(False)

    def make_actor(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> nn.Module:
        raise NotImplementedError

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        self._polyak = target_pairs(self)  # parameter lists are fixed from here on
        self._graphs = None  # new optimizers: capture again
        return critic_and_actor_optimizers(self)

    # -- data --------------------------------------------------------------------------------

    def train_dataloader(self) -> DataLoader:
        """Batches sampled from the replay callback's buffer, with its generator."""
        m = self.memory or Memory()
        dataset = ReplayDataset(
            self.replay.buffer,
            self.hparams.batch_size,
            self.replay.rng,
            m.window,
            m.burn_in,
            self.hparams.updates_per_step,
            pin=self.device.type == "cuda",
        )
        return ResumableLoader(dataset)

    def val_dataloader(self) -> DataLoader:
        return ResumableLoader(range(self.hparams.eval_episodes))  # episode indices

    # -- acting ------------------------------------------------------------------------------

    def start_episode(self) -> Hidden:
        """Sync the frozen acting copy (recurrent) and return the initial hidden state."""
        if self.memory is not None:
            self.acting["image"].load_state_dict(self.image_encoder.state_dict())
            self.acting["encoder"].load_state_dict(self.actor_encoder.state_dict())
            self.acting["actor"].load_state_dict(self.actor.state_dict())
        return None

    def policy(self, deterministic: bool, frozen: bool = False) -> Policy:
        """This module's actor as a :class:`~offpcc_pl.policy.Policy` over its own networks
        (no copy): the one acting path of training, evaluation and exported policies.

        Args:
            deterministic: act with the mean action (evaluation); False explores as
                training does.
            frozen: a recurrent agent acts with the copy frozen for the episode
                (:meth:`start_episode`), as its training env steps do; a feed-forward agent
                has none and acts with its networks as they are.
        """
        if frozen and self.memory is not None:
            image, encoder, actor = (self.acting[k] for k in ("image", "encoder", "actor"))
        else:
            image, encoder, actor = self.image_encoder, self.actor_encoder, self.actor
        spec, _, _ = describe(type(self).__name__, dict(self.hparams), self.state_dict())
        summarizer = None if self.memory is None else encoder
        return Policy(spec, actor, summarizer, deterministic, image if self.images else None)

    # -- the update --------------------------------------------------------------------------

    # What each algorithm binds from offpcc_pl.algorithms.update: V(s') for the TD target,
    # and the loss of every optimizer but the critics' (compiled by ``compile``).
    next_value: Callable[[Tensor, Feats], Tensor]
    actor_stage: Callable[[Tensor, Feats, Tensor | None], tuple[Tensor, dict]]

    @property
    def policy_delay(self) -> int:
        return 1

    def training_step(self, dataloader_iter: Iterator[tuple[list[Batch], int, int]]) -> None:
        if not self.replay.update_due:
            return  # warm-up: the step counts, no update and no batch drawn
        batches, _, _ = next(dataloader_iter)  # one item per env step: updates_per_step batches
        for batch in batches:
            self.update(batch.to(self.device, non_blocking=True))  # pinned on CUDA: no sync
        if self.n_updates - self._checked_at >= self.divergence_check_every:
            self.check_divergence()

    def update(self, batch: Batch) -> None:
        """One gradient update (:func:`offpcc_pl.algorithms.update.run_update`)."""
        metrics = run_update(self, batch)
        self.n_updates += 1
        self._accumulate(metrics)

    def check_divergence(self) -> None:
        """Raise :class:`TrainingDiverged` naming the losses that became NaN/inf since the
        last check (one host sync for all of them)."""
        keys = [k for k in self._sums if k.startswith("loss/") or k == "alpha"]
        if keys and self.n_updates > self._checked_at:
            finite = torch.isfinite(torch.stack([self._sums[k] for k in keys])).tolist()
            bad = [k for k, ok in zip(keys, finite) if not ok]
            if bad:
                raise TrainingDiverged(
                    f"{_diverged(bad)} became NaN/inf between updates {self._checked_at} and "
                    f"{self.n_updates}; the last good checkpoint is kept - try a lower "
                    "--model.lr"
                )
        self._checked_at = self.n_updates

    # -- logging -----------------------------------------------------------------------------

    def _accumulate(self, metrics: dict[str, Tensor]) -> None:
        for key, value in metrics.items():
            self._sums[key] = self._sums.get(key, 0.0) + value
        self._n_summed += 1

    def on_train_epoch_end(self) -> None:
        if not self._n_summed:
            return
        self.check_divergence()
        means = {k: float(v) / self._n_summed for k, v in self._sums.items()}
        log_at_env_step(self.trainer, means, self.replay.env_steps)
        self._sums, self._n_summed = {}, 0

    def on_validation_start(self) -> None:
        if self.trainer.state.fn == "fit":
            self.check_divergence()  # never evaluate (or then save) diverged weights

    def validation_step(self, episode_index: Tensor) -> None:
        """Evaluation episode ``episode_index``, played by the replay callback with the
        current networks; fit logs the means against env steps (the callback) instead."""
        policy = self.policy(deterministic=True)
        result = self.replay.play_test_episode(policy, int(episode_index))
        fitting = self.trainer.state.fn == "fit"
        for key, value in result.items():
            self.log(key, value, on_epoch=True, batch_size=1, logger=not fitting)

    # `offpcc-pl test` plays the same seeded test episodes as `validate`: an agent has no
    # held-out data set, only its env
    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def test_step(self, episode_index: Tensor) -> None:
        self.validation_step(episode_index)

    # -- checkpoint --------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """What a checkpoint must share with this module to be loaded into it."""
        return run_identity(type(self).__name__, dict(self.hparams))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_divergence()  # a diverged state is never written: the last good one stays
        checkpoint["n_updates"] = self.n_updates
        checkpoint["run_identity"] = self.identity()  # a resume refuses another run's file
        # running loss sums, so that an epoch resumed mid-way logs the same means
        checkpoint["loss_sums"] = {
            "sums": {k: v.detach().cpu() for k, v in self._sums.items()},
            "count": self._n_summed,
        }

    def _check_lr_groups(self, checkpoint: dict[str, Any]) -> None:
        """Refuse, before the optimizers load, a resume that adds or drops the summarizers'
        own learning rate: their parameter groups would not match the saved Adam state."""
        states = checkpoint.get("optimizer_states") or []
        if not states or self.memory is None:
            return
        saved = len(states[0]["param_groups"]) > 1
        if saved != (self.memory.lr is not None):
            have = "sets" if saved else "does not set"
            raise CheckpointError(
                f"the checkpoint's run {have} --model.summarizer_lr and this one "
                f"{'does not' if saved else 'does'}; resume with the checkpoint's own setting"
            )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        check_same_run(checkpoint, self.identity(), "this module")
        self._check_lr_groups(checkpoint)
        self._graphs = None  # optimizer state is replaced: capture again
        self.n_updates = self._checked_at = checkpoint.get("n_updates", 0)
        sums = checkpoint.get("loss_sums") or {"sums": {}, "count": 0}
        self._sums = {k: v.to(self.device) for k, v in sums["sums"].items()}
        self._n_summed = sums["count"]
