"""OffPolicyModule: networks, optimizers, one generic update, acting and evaluation.

One update serves all six algorithms. Observations pass through *encoders* before the MLP
heads: the identity for DDPG/TD3/SAC (a transition batch is a T=1 sequence), recurrent
summarizers for RDPG/RTD3/RSAC. Image observations first go through the seed's conv encoder
(:mod:`offpcc_pl.encoders`), whose features the encoders then read. The subclasses
only say how the next-state value and the policy loss are computed (:meth:`next_value`,
:meth:`actor_loss`) and how to explore.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium
import numpy as np
import pytorch_lightning as pl
import torch
from jsonargparse.typing import ClosedUnitInterval, NonNegativeInt, PositiveFloat, PositiveInt
from torch import Tensor, nn
from torch.utils.data import DataLoader

from offpcc_pl.algorithms.graphs import UpdateGraphs
from offpcc_pl.algorithms.losses import critic_loss, polyak_update, td_target
from offpcc_pl.buffers import Batch, EpisodeBuffer, TransitionBuffer
from offpcc_pl.checkpointing import check_same_run, run_identity
from offpcc_pl.data import ReplayDataset, ResumableLoader
from offpcc_pl.encoders import ConvEncoder, random_shift
from offpcc_pl.envs.make import TEST_SEED, HistoryInputs, make_env
from offpcc_pl.envs.wrappers import is_image_space
from offpcc_pl.errors import CheckpointError, ConfigError, TrainingDiverged
from offpcc_pl.monitor import ReplaySource, find_replay, log_at_env_step
from offpcc_pl.nets import Critics, Hidden, Summarizer, SummarizerKind
from offpcc_pl.replay_memory import (
    available_memory,
    check_replay_fits,
    default_capacity,
    item_bytes,
)
from offpcc_pl.rollout import play_episode

Feats = Tensor | list[Tensor]  # one (B, T, F) tensor all critics read, or one per critic


def _first(feats: Feats) -> Tensor:
    return feats if isinstance(feats, Tensor) else feats[0]


def _slice(feats: Feats, start: int | None, stop: int | None) -> Feats:
    """``feats[:, start:stop]`` of each feature tensor (the time axis)."""
    if isinstance(feats, Tensor):
        return feats[:, start:stop]
    return [f[:, start:stop] for f in feats]


def _detach(feats: Feats) -> Feats:
    return feats.detach() if isinstance(feats, Tensor) else [f.detach() for f in feats]


def _step(optimizers: list, loss: Tensor, backward: Callable[[Tensor], Any]) -> None:
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    backward(loss)
    for optimizer in optimizers:
        optimizer.step()


def adam(params: list[nn.Parameter] | list[dict[str, Any]], lr: float) -> torch.optim.Adam:
    """Adam with ``fused=True`` (one kernel per parameter group on CPU and CUDA; the
    per-tensor ``foreach`` path runs a dozen small ops per tensor on CPU).

    A loaded state brings the param groups it was saved with, ``capturable=True`` among
    them where the update ran as a CUDA graph (:class:`~offpcc_pl.algorithms.graphs.
    UpdateGraphs` sets it): a post-hook puts this optimizer's own ``capturable`` back, so a
    run resumed without the graph (on the CPU, or without ``compile``) steps as one begun
    that way; the graph sets it again when it captures.
    """
    optimizer = torch.optim.Adam(params, lr=lr, fused=True)
    capturable = optimizer.defaults["capturable"]

    def keep_capturable(opt: torch.optim.Optimizer) -> None:
        for group in opt.param_groups:
            group["capturable"] = capturable

    optimizer.register_load_state_dict_post_hook(keep_capturable)
    return optimizer


class PassThrough(nn.Module):
    """The feed-forward "encoder": the observation is the feature."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.output_dim = obs_dim

    def forward(self, obs: Tensor, hidden: Hidden = None) -> tuple[Tensor, Hidden]:
        return obs, None


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


class LivePolicy:
    """The module's current networks as a deterministic :class:`offpcc_pl.rollout.Actor`."""

    def __init__(self, module: OffPolicyModule) -> None:
        self.module, self.hidden = module, None

    def reset(self) -> None:
        self.hidden = None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        act, self.hidden = self.module.act(obs, self.hidden, deterministic=True, frozen=False)
        return act


class OffPolicyModule(pl.LightningModule):
    """Shared base of DDPG, TD3, SAC, RDPG, RTD3 and RSAC (manual optimization).

    Fit needs :class:`offpcc_pl.loop.ReplayCallback` among the trainer's callbacks (the CLI
    adds it): it acts in the env and holds the buffer. The module reaches it only through
    :class:`offpcc_pl.monitor.ReplaySource`, so imports run one way (callback -> module).
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
        env = self.make_env()
        self.obs_shape = tuple(int(n) for n in env.observation_space.shape)  # (O,) or (C, H, W)
        self.images = is_image_space(env.observation_space)
        # the image encoder (identity for vectors) feeds the encoders obs_dim features
        self.image_encoder = (
            ConvEncoder(self.obs_shape, image_embedding) if self.images else nn.Identity()
        )
        self.obs_dim = image_embedding if self.images else self.obs_shape[0]
        self.act_dim = int(env.action_space.shape[0])
        self.max_episode_steps = env.spec.max_episode_steps if env.spec else None
        env.close()
        self._check_memory()
        self._build_networks(list(hidden_sizes))
        self.n_updates = 0  # drives policy delay; checkpointed (never use global_step)
        self._sums: dict[str, Tensor] = {}
        self._n_summed = 0
        self._checked_at = 0  # n_updates at the last divergence check that passed
        self._test_results: list[dict[str, float]] = []
        self._compiled: tuple[Any, Any] | None = None  # the compiled loss stages, built lazily
        self._graphs: UpdateGraphs | None = None  # the captured updates, built lazily

    def make_env(self, render_mode: str | None = None) -> gymnasium.Env:
        """The env this agent acts in (recurrent agents may observe their last action/reward)."""
        history = self.memory.inputs if self.memory else "obs"
        return make_env(self.hparams.env_id, render_mode=render_mode, history=history)

    # -- networks ----------------------------------------------------------------------------

    def _check_memory(self) -> None:
        m = self.memory
        if m is None:
            return
        if m.burn_in and m.window is None:
            raise ConfigError(f"burn_in={m.burn_in} needs a window (set --model.window)")
        if self.max_episode_steps is None:
            raise ConfigError(
                f"env '{self.hparams.env_id}' has no time limit; recurrent agents store whole "
                "episodes and need one (register it with max_episode_steps)"
            )

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

    def _unique_params(self, *modules: nn.Module) -> list[nn.Parameter]:
        return list(nn.ModuleList(modules).parameters())  # deduplicated

    def _polyak_pairs(self) -> tuple[list[Tensor], list[Tensor]]:
        """(online, target) parameter lists, aligned, for the soft target update."""
        online, target = (
            [self.critics, self.critic_encoders, self.image_encoder],
            [self.critic_targets, self.critic_encoder_targets, self.image_encoder_target],
        )
        if self.target_actor:
            online.append(self.actor)
            target.append(self.actor_target)
            if self.actor_encoder is not self.critic_encoders[0]:  # share="all": done above
                online.append(self.actor_encoder)
                target.append(self.actor_encoder_target)
        return self._unique_params(*online), self._unique_params(*target)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        lr = self.hparams.lr
        # the image encoder learns from the critic loss only (the seed, SAC-AE, DrQ)
        critic_params = self._unique_params(self.critics, self.critic_encoders, self.image_encoder)
        shared = {id(p) for p in critic_params}
        actor_params = [
            p for p in self._unique_params(self.actor, self.actor_encoder) if id(p) not in shared
        ]  # share="all": the summarizer learns from the critic loss only
        self._polyak = self._polyak_pairs()  # parameter lists are fixed from here on
        self._graphs = None  # new optimizers: capture again
        return [
            adam(self._lr_groups(critic_params, lr), lr),
            adam(self._lr_groups(actor_params, lr), lr),
        ]

    def _lr_groups(
        self, params: list[nn.Parameter], lr: float
    ) -> list[nn.Parameter] | list[dict[str, Any]]:
        """``params`` as they are, or split into two parameter groups when the summarizers
        learn at their own rate. A small change of a summarizer's weights moves its outputs
        over a whole sequence, so RESeL (Luo et al. 2024, "Efficient Recurrent Off-Policy RL
        Requires a Context-Encoder-Specific Learning Rate", Sec. 4) trains it far slower than
        the MLP heads."""
        if self.memory is None or self.memory.lr is None:
            return params  # one group: the optimizer state of every earlier run still loads
        encoders = nn.ModuleList([*self.critic_encoders, self.actor_encoder])
        summarizer_ids = {id(p) for p in encoders.parameters()}
        heads = [p for p in params if id(p) not in summarizer_ids]
        summarizers = [p for p in params if id(p) in summarizer_ids]
        return [{"params": heads, "lr": lr}, {"params": summarizers, "lr": self.memory.lr}]

    # -- data --------------------------------------------------------------------------------

    @property
    def replay_capacity(self) -> int:
        """``capacity``, or the default for this kind of observation and buffer."""
        episode_len = None if self.memory is None else self.max_episode_steps
        return self.hparams.capacity or default_capacity(self.images, episode_len)

    def make_buffer(self) -> TransitionBuffer | EpisodeBuffer:
        """The replay buffer, refused in one line if it would not fit in memory."""
        episode_len = None if self.memory is None else self.max_episode_steps
        dtype = np.uint8 if self.images else np.float32  # frames become float on the device
        per_item = item_bytes(self.obs_shape, dtype, self.act_dim, episode_len)
        unit = "transitions" if episode_len is None else "episodes"
        check_replay_fits(self.replay_capacity, per_item, unit, available_memory())
        if self.memory is None:
            return TransitionBuffer(self.obs_shape, self.act_dim, self.replay_capacity, dtype)
        return EpisodeBuffer(
            self.obs_shape, self.act_dim, self.replay_capacity, self.max_episode_steps, dtype
        )

    @property
    def replay(self) -> ReplaySource:
        return find_replay(self.trainer)

    def train_dataloader(self) -> DataLoader:
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

    @torch.no_grad()
    def act(
        self, obs: np.ndarray, hidden: Hidden, deterministic: bool, frozen: bool = True
    ) -> tuple[np.ndarray, Hidden]:
        """One action in [-1, 1] for one observation; ``frozen`` uses the episode's copy."""
        if frozen and self.memory is not None:
            image, encoder, actor = (self.acting[k] for k in ("image", "encoder", "actor"))
        else:
            image, encoder, actor = self.image_encoder, self.actor_encoder, self.actor
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        feat, hidden = encoder(image(obs_t.view(1, 1, *self.obs_shape)), hidden)  # (1, 1, F)
        act = self.policy(actor, feat, deterministic)  # (1, 1, A)
        return act.view(-1).cpu().numpy(), hidden

    def policy(self, actor: nn.Module, feat: Tensor, deterministic: bool) -> Tensor:
        """Acting action (with exploration unless ``deterministic``)."""
        raise NotImplementedError

    # -- the update --------------------------------------------------------------------------

    def next_value(self, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
        """``V(s')`` for the TD target, without gradient, ``(B, T, 1)``.

        Args:
            next_feat: the policy's features of ``s'``, ``(B, T, F)`` (from the target actor's
                encoder where the algorithm has a target actor).
            critic_target_feats: the target critics' features of ``s'``.
        """
        raise NotImplementedError

    def actor_loss(
        self, actor_feat: Tensor, critic_feats: Feats, mask: Tensor | None
    ) -> tuple[Tensor, dict]:
        """The loss of every optimizer but the critics' (critic features come detached; call
        the critics ``frozen`` so that their weights get no gradient). Compiled by
        ``compile``, as :meth:`critic_stage` is."""
        raise NotImplementedError

    @property
    def policy_delay(self) -> int:
        return 1

    def training_step(self, dataloader_iter: Iterator[tuple[list[Batch], int, int]]) -> None:
        replay = self.replay
        # the seed updates after steps t >= update_after (0-based), i.e. from step update_after+1
        if replay.env_steps <= self.hparams.update_after or not replay.buffer.can_sample():
            return  # warm-up: the step counts, no update and no batch drawn
        batches, _, _ = next(dataloader_iter)  # one item per env step: updates_per_step batches
        for batch in batches:
            self.update(batch.to(self.device, non_blocking=True))  # pinned on CUDA: no sync
        if self.n_updates - self._checked_at >= self.divergence_check_every:
            self.check_divergence()

    def _encode(self, encoders: nn.ModuleList, obs: Tensor) -> Feats:
        """Run each distinct encoder once over ``(B, T+1, O)``: one ``(B, T+1, F)`` tensor
        when all critics read the same features, else one per critic."""
        cache: dict[int, Tensor] = {}
        for encoder in encoders:
            if id(encoder) not in cache:
                cache[id(encoder)] = encoder(obs)[0]  # (B, T+1, F)
        feats = [cache[id(encoder)] for encoder in encoders]
        return feats[0] if all(f is feats[0] for f in feats) else feats

    def _embed_images(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """Image batches: DrQ-shifted uint8 frames ``(B, T+1, C, H, W)`` as
        features ``(B, T+1, F)`` for the encoders and for their targets; vectors unchanged.

        Sequences go whole through the conv encoder (with grad) and its target copy, so each
        summarizer reads one encoder's features. Transitions do as the seed does, at half
        the cost: the encoder sees the observation (the critic loss), the target encoder the
        next one (the TD target and the next action).
        """
        if not self.images:
            return obs, obs
        per_sequence = self.memory is not None  # one shift per sequence: motion stays true
        frames = random_shift(obs, self.hparams.image_shift, per_sequence)
        with torch.no_grad():
            target_obs = self.image_encoder_target(frames if per_sequence else frames[:, 1:])
        if per_sequence:
            return self.image_encoder(frames), target_obs  # (B, T+1, F) each
        obs = torch.cat([self.image_encoder(frames[:, :1]), target_obs], dim=1)  # (B, 2, F)
        return obs, obs.detach()  # targets read only the next step, obs[:, 1]

    def update(self, batch: Batch) -> None:
        """One gradient update: critic, then (delayed) actor and extras, then targets; one
        CUDA graph replay where :meth:`_update_graphs` captures it."""
        actor_step = self.n_updates % self.policy_delay == 0
        graphs = self._update_graphs()
        if graphs is not None:
            metrics = graphs(batch, actor_step)
        else:
            metrics = self._update(batch, actor_step, self.optimizers(), self.manual_backward)
        self.n_updates += 1
        self._accumulate(metrics)

    def _update(
        self, batch: Batch, actor_step: bool, optimizers: list, backward: Callable
    ) -> dict[str, Tensor]:
        """The update's work, its metrics returned.

        The two loss stages are the units that ``compile`` compiles; the encoders with
        recurrent state the actor trains run outside them, so each compiled graph is
        differentiated once (its outputs never feed two backward passes).
        """
        critic_opt, *actor_opts = optimizers
        critic_stage, actor_loss = self._stages()
        obs, target_obs = self._embed_images(batch.obs)  # (B, T+1, O) each
        share_all = self.actor_encoder is self.critic_encoders[0]
        # the actor reads image features detached: only the critic loss trains the encoder
        actor_feats = None if share_all else self.actor_encoder(obs.detach())[0]  # (B, T+1, F)
        loss, metrics, critic_feats = critic_stage(obs, target_obs, actor_feats, batch)
        _step([critic_opt], loss, backward)
        if actor_step:
            actor_feats = _first(critic_feats) if share_all else actor_feats[:, :-1]
            loss, actor_metrics = actor_loss(actor_feats, critic_feats, batch.mask)
            _step(actor_opts, loss, backward)
            metrics.update(actor_metrics)
            polyak_update(*self._polyak, self.hparams.tau)
        return metrics

    def critic_stage(
        self, obs: Tensor, target_obs: Tensor, actor_feats: Tensor | None, batch: Batch
    ) -> tuple[Tensor, dict, Feats]:
        """The critic loss, its metrics and the critics' features of ``s`` (detached, for the
        actor loss). ``actor_feats`` ``(B, T+1, F)`` (None: the actor reads the critics')."""
        critic_feats = self._encode(self.critic_encoders, obs)  # (B, T+1, F) with grad
        with torch.no_grad():
            target_feats = self._encode(self.critic_encoder_targets, target_obs)
            if self.target_actor:
                next_feat = self.actor_encoder_target(target_obs)[0]
            else:
                next_feat = _first(critic_feats) if actor_feats is None else actor_feats
            next_value = self.next_value(next_feat[:, 1:], _slice(target_feats, 1, None))
            target = td_target(batch.rew, batch.done, next_value, self.hparams.gamma)  # (B, T, 1)
        qs = self.critics(_slice(critic_feats, None, -1), batch.act)  # (C, B, T, 1)
        loss, metrics = critic_loss(qs, target, batch.mask)
        return loss, metrics, _detach(_slice(critic_feats, None, -1))

    def _stages(self) -> tuple[Any, Any]:
        """:meth:`critic_stage` and :meth:`actor_loss`, compiled when ``compile`` is on."""
        if not self.hparams.compile:
            return self.critic_stage, self.actor_loss
        # CUDA graphs of the stages alone where the whole update is not captured
        graph_stages = self.device.type == "cuda" and not self._whole_update_graphed
        if self._compiled is None:
            mode = "reduce-overhead" if graph_stages else None
            self._compiled = (
                torch.compile(self.critic_stage, mode=mode),
                torch.compile(self.actor_loss, mode=mode),
            )
        if graph_stages:  # a new iteration: graph outputs of the last update may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        return self._compiled

    @property
    def _whole_update_graphed(self) -> bool:
        """``compile`` on CUDA captures the whole update as one CUDA graph, where its
        shapes are fixed (transitions, not episodes of varying length) and the precision is
        32-bit (a mixed-precision scaler syncs with the host)."""
        precision = self._trainer.precision if self._trainer is not None else "32-true"
        return (
            self.hparams.compile
            and self.device.type == "cuda"
            and self.memory is None
            and precision in ("32-true", "32")
        )

    def _update_graphs(self) -> UpdateGraphs | None:
        if not self._whole_update_graphed:
            return None
        if self._graphs is None:  # raw optimizers: Lightning's wrappers would run once
            optimizers = [getattr(opt, "optimizer", opt) for opt in self.optimizers()]

            def step(batch: Batch, actor_step: bool) -> dict[str, Tensor]:
                return self._update(batch, actor_step, optimizers, Tensor.backward)

            self._graphs = UpdateGraphs(step, self, optimizers)
        return self._graphs

    def check_divergence(self) -> None:
        """Raise :class:`TrainingDiverged` naming the losses that became NaN/inf since the
        last check (one host sync for all of them)."""
        keys = [k for k in self._sums if k.startswith("loss/") or k == "alpha"]
        if keys and self.n_updates > self._checked_at:
            finite = torch.isfinite(torch.stack([self._sums[k] for k in keys])).tolist()
            bad = [k.removeprefix("loss/") for k, ok in zip(keys, finite) if not ok]
            if bad:
                raise TrainingDiverged(
                    f"{' and '.join(bad)} {'loss' if len(bad) == 1 else 'losses'} became "
                    f"NaN/inf between updates {self._checked_at} and {self.n_updates}; the "
                    "last good checkpoint is kept - try a lower --model.lr"
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
        seed = TEST_SEED + int(episode_index)
        result = play_episode(LivePolicy(self), self.replay.eval_env, seed).test_metrics()
        self._test_results.append(result)
        fitting = self.trainer.state.fn == "fit"  # fit logs the means against env steps
        for key, value in result.items():
            self.log(key, value, on_epoch=True, batch_size=1, logger=not fitting)

    def on_validation_epoch_end(self) -> None:
        results, self._test_results = self._test_results, []
        if not results:
            return
        means = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
        self.replay.last_test_return = means["test/episode_return"]
        if self.trainer.state.fn == "fit":
            log_at_env_step(self.trainer, means, self.replay.env_steps)

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
