"""The gradient update of all six algorithms, in the order it runs.

For SAC it reads as CleanRL's update (``sac_continuous_action.py``): the TD target from the
twin target critics at ``a' ~ pi(s')`` minus ``alpha log pi`` (:func:`sac_next_value`), the
critic loss and its step (:func:`critic_stage`), then the actor and temperature losses and
their step (:func:`sac_actor_stage`), then the soft target update (:func:`update_step`).
The same functions carry what the other algorithms and the recurrent agents need:

- batches are ``(B, T, ·)`` sequences: a feed-forward batch is the T=1 case without a mask,
  a recurrent one carries a mask over padding and burn-in (:mod:`offpcc_pl.algorithms.losses`);
- observations pass through *encoders* before the MLP heads: the identity for DDPG/TD3/SAC,
  recurrent summarizers for RDPG/RTD3/RSAC, after the conv encoder for image observations
  (:func:`embed_images`); critics and actor may share encoders (``share_summarizer``);
- the critics are one stacked module (:class:`offpcc_pl.nets.Critics`), their features one
  tensor when they share an encoder, else one per critic (:data:`Feats`);
- ``compile`` compiles the two loss stages, and on CUDA the whole update may run as one CUDA
  graph (:mod:`offpcc_pl.algorithms.graphs`).

Each algorithm binds its own ``next_value`` and ``actor_stage`` from here as methods
(DDPG: :func:`ddpg_next_value`; TD3: :func:`td3_next_value`; both
:func:`deterministic_actor_stage`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from offpcc_pl.algorithms import losses
from offpcc_pl.algorithms.graphs import UpdateGraphs, compiled_stages, whole_update_graphed
from offpcc_pl.buffers import Batch
from offpcc_pl.encoders import random_shift

# The module whose networks an update reads and steps: an OffPolicyModule (algorithms/base.py),
# named by its base class here because base.py imports this file, not the other way round.
Agent = nn.Module
Feats = Tensor | list[Tensor]  # one (B, T, F) tensor all critics read, or one per critic


def run_update(agent: Agent, batch: Batch) -> dict[str, Tensor]:
    """One update of ``agent`` on ``batch``, its metrics returned: replayed as one CUDA graph
    where :func:`captured_update` captures it, else run as it reads here."""
    actor_step = agent.n_updates % agent.policy_delay == 0
    graphs = captured_update(agent)
    if graphs is not None:
        return graphs(batch, actor_step)
    return update_step(agent, batch, actor_step, agent.optimizers(), agent.manual_backward)


def update_step(
    agent: Agent,
    batch: Batch,
    actor_step: bool,
    optimizers: list[torch.optim.Optimizer],
    backward: Callable[[Tensor], Any],
) -> dict[str, Tensor]:
    """Critic step; then, on an actor step, the actor's (and temperature's) step and the
    soft target update. Returns the metrics.

    The two loss stages are the units that ``compile`` compiles; the encoders with
    recurrent state the actor trains run outside them, so each compiled graph is
    differentiated once (its outputs never feed two backward passes).
    """
    critic_opt, *actor_opts = optimizers
    critic_loss_stage, actor_loss_stage = loss_stages(agent)
    obs, target_obs = embed_images(agent, batch.obs)  # (B, T+1, O) each
    share_all = agent.actor_encoder is agent.critic_encoders[0]
    # the actor reads image features detached: only the critic loss trains the encoder
    actor_feats = None if share_all else agent.actor_encoder(obs.detach())[0]  # (B, T+1, F)
    loss, metrics, critic_feats = critic_loss_stage(obs, target_obs, actor_feats, batch)
    step_optimizers([critic_opt], loss, backward)
    if actor_step:
        actor_feats = _first(critic_feats) if share_all else actor_feats[:, :-1]  # (B, T, F)
        loss, actor_metrics = actor_loss_stage(actor_feats, critic_feats, batch.mask)
        step_optimizers(actor_opts, loss, backward)
        metrics.update(actor_metrics)
        losses.polyak_update(*agent._polyak, agent.hparams.tau)
    return metrics


def critic_stage(
    agent: Agent,
    obs: Tensor,
    target_obs: Tensor,
    actor_feats: Tensor | None,
    batch: Batch,
) -> tuple[Tensor, dict, Feats]:
    """The critic loss, its metrics and the critics' features of ``s`` (detached, for the
    actor loss).

    Args:
        agent: the module whose networks are read.
        obs: features of the observations ``(B, T+1, O)`` (images embedded).
        target_obs: the same for the target networks.
        actor_feats: the actor encoder's features ``(B, T+1, F)`` (None: the actor reads
            the critics').
        batch: actions, rewards, ``done`` and mask.
    """
    critic_feats = encode(agent.critic_encoders, obs)  # (B, T+1, F) with grad
    with torch.no_grad():
        target_feats = encode(agent.critic_encoder_targets, target_obs)
        if agent.target_actor:
            next_feat = agent.actor_encoder_target(target_obs)[0]  # (B, T+1, F)
        else:
            next_feat = _first(critic_feats) if actor_feats is None else actor_feats
        next_value = agent.next_value(next_feat[:, 1:], _slice(target_feats, 1, None))
        target = losses.td_target(batch.rew, batch.done, next_value, agent.hparams.gamma)
    qs = agent.critics(_slice(critic_feats, None, -1), batch.act)  # (C, B, T, 1)
    loss, metrics = losses.critic_loss(qs, target, batch.mask)
    return loss, metrics, _detach(_slice(critic_feats, None, -1))


# -- what each algorithm binds: V(s') for the TD target, and the loss of the other optimizers


def sac_next_value(agent: Agent, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
    """SAC's soft value ``min_i Q'_i(s', a') - alpha log pi(a'|s')``, ``a' ~ pi(s')``.

    Args:
        agent: the SAC module.
        next_feat: the policy's features of ``s'``, ``(B, T, F)``.
        critic_target_feats: the target critics' features of ``s'``.
    """
    next_act, next_logp = agent.actor(next_feat)  # (B, T, A), (B, T, 1)
    next_q = agent.critic_targets(critic_target_feats, next_act)  # (2, B, T, 1)
    return torch.min(next_q[0], next_q[1]) - agent.alpha * next_logp  # (B, T, 1)


def sac_actor_stage(
    agent: Agent, actor_feat: Tensor, critic_feats: Feats, mask: Tensor | None
) -> tuple[Tensor, dict]:
    """Policy loss plus temperature loss: neither has a gradient in the other's parameters
    (alpha and log pi enter detached), so one backward serves both. Critic features come
    detached and the critics run ``frozen``, so their weights get no gradient."""
    act, logp = agent.actor(actor_feat)  # (B, T, A), (B, T, 1)
    q = agent.critics(critic_feats, act, frozen=True)  # (2, B, T, 1)
    loss, metrics = losses.sac_actor_loss(torch.min(q[0], q[1]), logp, agent.alpha, mask)
    temperature_loss, alpha_metrics = losses.alpha_loss(
        agent.log_alpha, logp, agent.target_entropy, mask
    )
    return loss + temperature_loss, {**metrics, **alpha_metrics}


def ddpg_next_value(agent: Agent, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
    """DDPG: the target critic at the target actor's action ``Q'(s', mu'(s'))``."""
    next_act = agent.actor_target(next_feat)  # (B, T, A)
    return agent.critic_targets(critic_target_feats, next_act)[0]  # (B, T, 1)


def td3_next_value(agent: Agent, next_feat: Tensor, critic_target_feats: Feats) -> Tensor:
    """TD3: the smaller twin target critic at the smoothed target action."""
    next_act = losses.smoothed_target_action(
        agent.actor_target(next_feat), agent.hparams.target_noise, agent.hparams.noise_clip
    )  # (B, T, A)
    next_q = agent.critic_targets(critic_target_feats, next_act)  # (2, B, T, 1)
    return torch.min(next_q[0], next_q[1])  # (B, T, 1)


def deterministic_actor_stage(
    agent: Agent, actor_feat: Tensor, critic_feats: Feats, mask: Tensor | None
) -> tuple[Tensor, dict]:
    """DDPG/TD3: ``-Q_1(s, mu(s))``, the first critic only (TD3, Fujimoto et al. 2018,
    algorithm 1)."""
    q = agent.critics(critic_feats, agent.actor(actor_feat), frozen=True, heads=1)  # (1, B, T, 1)
    return losses.deterministic_actor_loss(q[0], mask)


# -- features -------------------------------------------------------------------------------


def embed_images(agent: Agent, obs: Tensor) -> tuple[Tensor, Tensor]:
    """Image batches: DrQ-shifted uint8 frames ``(B, T+1, C, H, W)`` as
    features ``(B, T+1, F)`` for the encoders and for their targets; vectors unchanged.

    Sequences go whole through the conv encoder (with grad) and its target copy, so each
    summarizer reads one encoder's features. Transitions do as the seed does, at half
    the cost: the encoder sees the observation (the critic loss), the target encoder the
    next one (the TD target and the next action).
    """
    if not agent.images:
        return obs, obs
    per_sequence = agent.memory is not None  # one shift per sequence: motion stays true
    frames = random_shift(obs, agent.hparams.image_shift, per_sequence)
    with torch.no_grad():
        target_obs = agent.image_encoder_target(frames if per_sequence else frames[:, 1:])
    if per_sequence:
        return agent.image_encoder(frames), target_obs  # (B, T+1, F) each
    obs = torch.cat([agent.image_encoder(frames[:, :1]), target_obs], dim=1)  # (B, 2, F)
    return obs, obs.detach()  # targets read only the next step, obs[:, 1]


def encode(encoders: nn.ModuleList, obs: Tensor) -> Feats:
    """Run each distinct encoder once over ``(B, T+1, O)``: one ``(B, T+1, F)`` tensor
    when all critics read the same features, else one per critic."""
    cache: dict[int, Tensor] = {}
    for encoder in encoders:
        if id(encoder) not in cache:
            cache[id(encoder)] = encoder(obs)[0]  # (B, T+1, F)
    feats = [cache[id(encoder)] for encoder in encoders]
    return feats[0] if all(f is feats[0] for f in feats) else feats


def _first(feats: Feats) -> Tensor:
    return feats if isinstance(feats, Tensor) else feats[0]


def _slice(feats: Feats, start: int | None, stop: int | None) -> Feats:
    """``feats[:, start:stop]`` of each feature tensor (the time axis)."""
    if isinstance(feats, Tensor):
        return feats[:, start:stop]
    return [f[:, start:stop] for f in feats]


def _detach(feats: Feats) -> Feats:
    return feats.detach() if isinstance(feats, Tensor) else [f.detach() for f in feats]


# -- optimizers -----------------------------------------------------------------------------


def step_optimizers(
    optimizers: list[torch.optim.Optimizer], loss: Tensor, backward: Callable[[Tensor], Any]
) -> None:
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


def critic_and_actor_optimizers(agent: Agent) -> list[torch.optim.Adam]:
    """The critics' optimizer (with the critic encoders and the image encoder, which learn
    from the critic loss only: the seed, SAC-AE, DrQ), then the actor's (without any encoder
    the critics share: with ``share_summarizer="all"`` the summarizer learns from the critic
    loss only)."""
    lr = agent.hparams.lr
    critic_params = unique_params(agent.critics, agent.critic_encoders, agent.image_encoder)
    shared = {id(p) for p in critic_params}
    actor_params = [
        p for p in unique_params(agent.actor, agent.actor_encoder) if id(p) not in shared
    ]
    return [adam(lr_groups(agent, critic_params), lr), adam(lr_groups(agent, actor_params), lr)]


def lr_groups(
    agent: Agent, params: list[nn.Parameter]
) -> list[nn.Parameter] | list[dict[str, Any]]:
    """``params`` as they are, or split into two parameter groups when the summarizers
    learn at their own rate. A small change of a summarizer's weights moves its outputs
    over a whole sequence, so RESeL (Luo et al. 2024, "Efficient Recurrent Off-Policy RL
    Requires a Context-Encoder-Specific Learning Rate", Sec. 4) trains it far slower than
    the MLP heads."""
    lr, memory = agent.hparams.lr, agent.memory
    if memory is None or memory.lr is None:
        return params  # one group: the optimizer state of every earlier run still loads
    encoders = nn.ModuleList([*agent.critic_encoders, agent.actor_encoder])
    summarizer_ids = {id(p) for p in encoders.parameters()}
    heads = [p for p in params if id(p) not in summarizer_ids]
    summarizers = [p for p in params if id(p) in summarizer_ids]
    return [{"params": heads, "lr": lr}, {"params": summarizers, "lr": memory.lr}]


def target_pairs(agent: Agent) -> tuple[list[Tensor], list[Tensor]]:
    """(online, target) parameter lists, aligned, for the soft target update."""
    online, target = (
        [agent.critics, agent.critic_encoders, agent.image_encoder],
        [agent.critic_targets, agent.critic_encoder_targets, agent.image_encoder_target],
    )
    if agent.target_actor:
        online.append(agent.actor)
        target.append(agent.actor_target)
        if agent.actor_encoder is not agent.critic_encoders[0]:  # share="all": done above
            online.append(agent.actor_encoder)
            target.append(agent.actor_encoder_target)
    return unique_params(*online), unique_params(*target)


def unique_params(*modules: nn.Module) -> list[nn.Parameter]:
    return list(nn.ModuleList(modules).parameters())  # deduplicated


# -- how the update runs: eager, compiled, or as one CUDA graph ------------------------------


def loss_stages(agent: Agent) -> tuple[Callable, Callable]:
    """:func:`critic_stage` and the agent's ``actor_stage``, compiled when ``compile`` is on."""
    stages = (partial(critic_stage, agent), agent.actor_stage)
    return compiled_stages(agent, stages) if agent.hparams.compile else stages


def captured_update(agent: Agent) -> UpdateGraphs | None:
    """The agent's whole update as CUDA graphs (None where it is not captured), built once
    per set of optimizers on the raw optimizers: Lightning's wrappers would run once."""
    if not whole_update_graphed(agent):
        return None
    if agent._graphs is None:
        optimizers = [getattr(opt, "optimizer", opt) for opt in agent.optimizers()]

        def step(batch: Batch, actor_step: bool) -> dict[str, Tensor]:
            return update_step(agent, batch, actor_step, optimizers, Tensor.backward)

        agent._graphs = UpdateGraphs(step, agent, optimizers)
    return agent._graphs
