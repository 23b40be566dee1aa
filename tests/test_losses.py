"""Loss functions against hand-computed values on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from offpcc_pl.algorithms.losses import (
    alpha_loss,
    critic_loss,
    deterministic_actor_loss,
    masked_mean,
    polyak_update,
    sac_actor_loss,
    smoothed_target_action,
    td_target,
)
from offpcc_pl.nets import GaussianActor


def col(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(1, -1, 1)  # (B=1, T, 1)


def test_masked_mean_ignores_masked_entries() -> None:
    assert masked_mean(col(1, 2, 100), col(1, 1, 0)).item() == 1.5
    assert masked_mean(col(1, 2, 3), None).item() == 2.0
    assert masked_mean(col(5), col(0)).item() == 0.0  # empty mask: no division by zero


def test_td_target_bootstraps_unless_terminated() -> None:
    target = td_target(col(1, 1), done=col(0, 1), next_value=col(10, 10), gamma=0.9)
    assert torch.allclose(target, col(10.0, 1.0))


def test_critic_loss_sums_the_twin_mses() -> None:
    loss, metrics = critic_loss(torch.stack([col(1, 2), col(0, 0)]), col(1, 1), None)
    assert loss.item() == pytest.approx(0.5 + 1.0)
    assert metrics["q/mean"].item() == pytest.approx(1.5)
    masked, _ = critic_loss(torch.stack([col(1, 2), col(0, 0)]), col(1, 1), col(1, 0))
    assert masked.item() == pytest.approx(0.0 + 1.0)


def test_actor_losses() -> None:
    loss, _ = deterministic_actor_loss(col(1, 3), None)
    assert loss.item() == -2.0
    loss, _ = sac_actor_loss(col(1, 3), col(-1, -2), torch.tensor(0.5), None)
    assert loss.item() == pytest.approx(((0.5 * -1 - 1) + (0.5 * -2 - 3)) / 2)


def test_alpha_loss_pushes_alpha_toward_target_entropy() -> None:
    log_alpha = torch.tensor(math.log(2.0), requires_grad=True)
    loss, metrics = alpha_loss(log_alpha, col(-1.0), target_entropy=-1.0, mask=None)
    assert loss.item() == pytest.approx(2 * math.log(2.0))
    assert metrics["alpha"].item() == pytest.approx(2.0)
    loss.backward()
    assert log_alpha.grad.item() == pytest.approx(2.0)  # entropy 1 > target -1: lower alpha


def test_smoothed_target_action_stays_in_bounds() -> None:
    torch.manual_seed(0)
    act = smoothed_target_action(torch.full((1000, 1, 2), 0.9), noise_std=5.0, noise_clip=0.5)
    assert act.max().item() <= 1.0 and act.min().item() >= 0.4 - 1e-6


def test_polyak_update_moves_targets_by_tau() -> None:
    params, targets = [torch.ones(3)], [torch.zeros(3)]
    polyak_update(params, targets, tau=0.25)
    assert torch.allclose(targets[0], torch.full((3,), 0.25))


def test_gaussian_actor_log_prob_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    actor = GaussianActor(feat_dim=4, act_dim=2, hidden_sizes=[8])
    feat = torch.randn(5, 3, 4)  # (B, T, F)
    torch.manual_seed(1)
    act, logp = actor(feat)
    mean, log_std = actor.trunk(feat).chunk(2, dim=-1)
    dist = TransformedDistribution(Normal(mean, log_std.clamp(-20, 2).exp()), TanhTransform())
    expected = dist.log_prob(act.clamp(-1 + 1e-6, 1 - 1e-6)).sum(-1, keepdim=True)
    assert act.shape == (5, 3, 2) and logp.shape == (5, 3, 1)
    assert torch.allclose(logp, expected, atol=1e-3)
