"""Pure loss functions shared by all six algorithms.

Tensors carry a time axis: ``(B, T, 1)`` values, with an optional ``(B, T, 1)`` mask that is
1 on steps that enter the loss (real, non-burn-in steps) and 0 on padding. A feed-forward
batch is the T=1, mask-free case, so the same functions serve DDPG/TD3/SAC and their
recurrent versions (the seed's masked sequence losses).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


def masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over the entries where ``mask`` is 1 (all entries when ``mask`` is None)."""
    if mask is None:
        return values.mean()
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def td_target(rew: Tensor, done: Tensor, next_value: Tensor, gamma: float) -> Tensor:
    """``r + gamma (1 - done) V(s')``; ``done`` is *terminated*: time limits bootstrap."""
    return rew + gamma * (1.0 - done) * next_value  # (B, T, 1)


def critic_loss(qs: Tensor, target: Tensor, mask: Tensor | None) -> tuple[Tensor, dict]:
    """Sum over critics of the masked mean squared TD error (seed, CleanRL: no 1/2 factor).

    ``qs`` ``(C, B, T, 1)`` stacks the C critics' values, ``target`` is ``(B, T, 1)``. The sum
    of the C masked means is the masked mean of the sum (they share the mask).
    """
    loss = masked_mean(((qs - target) ** 2).sum(0), mask)  # sum over critics of (B, T, 1)
    return loss, {"loss/critic": loss.detach(), "q/mean": masked_mean(qs[0].detach(), mask)}


def deterministic_actor_loss(q: Tensor, mask: Tensor | None) -> tuple[Tensor, dict]:
    """DDPG/TD3 policy loss ``-Q(s, mu(s))``."""
    loss = -masked_mean(q, mask)
    return loss, {"loss/actor": loss.detach()}


def sac_actor_loss(
    min_q: Tensor, logp: Tensor, alpha: Tensor, mask: Tensor | None
) -> tuple[Tensor, dict]:
    """SAC policy loss ``alpha log pi(a|s) - min_i Q_i(s, a)`` with ``a ~ pi`` reparameterised."""
    loss = masked_mean(alpha * logp - min_q, mask)
    return loss, {"loss/actor": loss.detach(), "entropy": -masked_mean(logp.detach(), mask)}


def alpha_loss(
    log_alpha: Tensor, logp: Tensor, target_entropy: float, mask: Tensor | None
) -> tuple[Tensor, dict]:
    """Temperature loss ``-log_alpha (log pi + H_target)`` (Haarnoja et al. 2018b, eq. 18)."""
    loss = -masked_mean(log_alpha * (logp.detach() + target_entropy), mask)
    return loss, {"loss/alpha": loss.detach(), "alpha": log_alpha.detach().exp()}


def smoothed_target_action(next_act: Tensor, noise_std: float, noise_clip: float) -> Tensor:
    """TD3 target policy smoothing: ``clip(mu'(s') + clip(eps, -c, c), -1, 1)``."""
    noise = (torch.randn_like(next_act) * noise_std).clamp(-noise_clip, noise_clip)
    return (next_act + noise).clamp(-1.0, 1.0)


@torch.no_grad()
def polyak_update(params: Iterable[Tensor], target_params: Iterable[Tensor], tau: float) -> None:
    """``target <- (1 - tau) target + tau param`` (in place, one fused call)."""
    torch._foreach_lerp_(list(target_params), list(params), tau)
