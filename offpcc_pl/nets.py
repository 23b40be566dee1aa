"""Networks: MLP heads (actors, critics) and recurrent summarizers.

Every network maps over leading dimensions: feed-forward batches arrive as ``(B, T, ·)``
with T=1, recurrent ones as ``(B, T, ·)`` sequences; acting passes ``(1, 1, ·)``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SummarizerKind = Literal["lstm", "gru", "rnn"]
Hidden = Tensor | tuple[Tensor, Tensor] | None

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SAC reference implementation (Haarnoja et al. 2018)


def mlp(in_dim: int, out_dim: int, hidden_sizes: tuple[int, ...] | list[int]) -> nn.Sequential:
    """ReLU MLP ``in_dim -> hidden_sizes... -> out_dim`` with a linear output."""
    layers: list[nn.Module] = []
    for size in hidden_sizes:
        layers += [nn.Linear(in_dim, size), nn.ReLU()]
        in_dim = size
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class DeterministicActor(nn.Module):
    """``a = tanh(mlp(h))`` in [-1, 1] (DDPG, TD3)."""

    def __init__(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> None:
        super().__init__()
        self.net = mlp(feat_dim, act_dim, hidden_sizes)

    def forward(self, feat: Tensor) -> Tensor:
        return torch.tanh(self.net(feat))  # (..., A)


class GaussianActor(nn.Module):
    """Tanh-squashed Gaussian policy (SAC, Haarnoja et al. 2018, appendix C)."""

    def __init__(self, feat_dim: int, act_dim: int, hidden_sizes: list[int]) -> None:
        super().__init__()
        self.trunk = mlp(feat_dim, 2 * act_dim, hidden_sizes)

    def forward(self, feat: Tensor, deterministic: bool = False) -> tuple[Tensor, Tensor]:
        """Returns an action in [-1, 1] and its log-probability ``(..., A), (..., 1)``."""
        mean, log_std = self.trunk(feat).chunk(2, dim=-1)  # (..., A) each
        if deterministic:
            return torch.tanh(mean), torch.zeros_like(mean[..., :1])
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        pre_tanh = mean + std * torch.randn_like(mean)  # reparameterised sample, (..., A)
        normal_logp = (-0.5 * ((pre_tanh - mean) / std) ** 2 - std.log()).sum(-1, keepdim=True)
        normal_logp = normal_logp - 0.5 * math.log(2 * math.pi) * mean.shape[-1]
        # log |d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), numerically stable form
        squash = (2 * (math.log(2.0) - pre_tanh - F.softplus(-2 * pre_tanh))).sum(-1, keepdim=True)
        return torch.tanh(pre_tanh), normal_logp - squash  # (..., A), (..., 1)


class Critics(nn.Module):
    """``n`` independent ``Q(h, a)`` MLPs run as one batched MLP: one ``baddbmm`` per layer
    for all of them, so twin critics cost one kernel per layer, not two.

    Layer ``j`` is ``weights[j]`` ``(n, in, out)`` and ``biases[j]`` ``(n, 1, out)``: the
    weights of ``n`` separate :func:`mlp` critics, initialised exactly as those (same
    ``nn.Linear`` init, same random draws, critic by critic).
    """

    def __init__(self, feat_dim: int, act_dim: int, hidden_sizes: list[int], n: int) -> None:
        super().__init__()
        heads = [_linears(mlp(feat_dim + act_dim, 1, hidden_sizes)) for _ in range(n)]
        self.n = n
        self.weights = nn.ParameterList(
            torch.stack([head[j].weight.detach().t() for head in heads])  # (n, in, out)
            for j in range(len(heads[0]))
        )
        self.biases = nn.ParameterList(
            torch.stack([head[j].bias.detach()[None] for head in heads])  # (n, 1, out)
            for j in range(len(heads[0]))
        )

    def forward(
        self,
        feats: Tensor | list[Tensor],
        act: Tensor,
        frozen: bool = False,
        heads: int | None = None,
    ) -> Tensor:
        """Q-values ``(n, B, T, 1)`` of ``act`` ``(B, T, A)``.

        Args:
            feats: one ``(B, T, F)`` feature tensor that every critic reads, or one per critic.
            act: the actions.
            frozen: weights detached: gradients reach ``feats`` and ``act`` only (the policy
                loss; the same gradients as switching ``requires_grad`` off, without a loop).
            heads: evaluate only the first ``heads`` critics (None: all ``n``).
        """
        n = self.n if heads is None else heads
        lead = act.shape[:-1]  # (B, T)
        if isinstance(feats, Tensor):
            x = torch.cat([feats, act], dim=-1).reshape(1, -1, feats.shape[-1] + act.shape[-1])
            x = x.expand(n, -1, -1)  # (n, B*T, F+A), no copy
        else:
            x = torch.stack([torch.cat([f, act], dim=-1) for f in feats[:n]]).flatten(1, -2)
        last = len(self.weights) - 1
        for j, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            if frozen:
                weight, bias = weight.detach(), bias.detach()
            if n < self.n:
                weight, bias = weight[:n], bias[:n]
            x = torch.baddbmm(bias, x, weight)  # (n, B*T, out)
            if j < last:
                x = torch.relu(x)
        return x.view(n, *lead, 1)  # (n, B, T, 1)


def _linears(net: nn.Sequential) -> list[nn.Linear]:
    return [layer for layer in net if isinstance(layer, nn.Linear)]


class PassThrough(nn.Module):
    """The feed-forward "encoder": the observation is the feature."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.output_dim = obs_dim

    def forward(self, obs: Tensor, hidden: Hidden = None) -> tuple[Tensor, Hidden]:
        return obs, None


class Summarizer(nn.Module):
    """Recurrent summary of the observation history (the seed's "summarizer").

    ``summary[:, t]`` depends on ``obs[:, :t+1]`` only, so one pass over ``(B, T+1, O)`` gives
    the summaries of both the current (``[:, :-1]``) and next (``[:, 1:]``) time steps.
    """

    def __init__(self, obs_dim: int, kind: SummarizerKind, hidden_size: int, layers: int) -> None:
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.rnn = rnn_cls(obs_dim, hidden_size, num_layers=layers, batch_first=True)
        self.output_dim = hidden_size

    def forward(self, obs: Tensor, hidden: Hidden = None) -> tuple[Tensor, Hidden]:
        summary, hidden = self.rnn(obs, hidden)  # (B, T, H)
        return summary, hidden

    def flatten_parameters(self) -> None:
        """cuDNN wants contiguous weights after copies (``deepcopy``, ``load_state_dict``):
        otherwise PyTorch warns and compacts them again at every call."""
        self.rnn.flatten_parameters()
