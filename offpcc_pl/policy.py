"""Exported policies: write an actor (and summarizer) beside a run, load it without Lightning.

An export is a directory (``<run dir>/policy/`` by default) with

- ``actor.pth``: ``state_dict`` of the actor head (:class:`~offpcc_pl.nets.GaussianActor` or
  :class:`~offpcc_pl.nets.DeterministicActor`), and for image observations the weights of
  the :class:`~offpcc_pl.encoders.ConvEncoder` in front of it (keys ``image_encoder.*``),
- ``actor_summarizer.pth``: ``state_dict`` of the actor's :class:`~offpcc_pl.nets.Summarizer`
  (recurrent agents only),
- ``policy.yaml``: what is needed to rebuild them (algorithm, env id, dims, sizes).

:func:`load_policy` reads such a directory, a run directory holding one, or a Lightning
checkpoint (rebuilt from ``hyper_parameters`` + ``state_dict``), and needs only torch,
:mod:`offpcc_pl.nets` and :mod:`offpcc_pl.checkpointing.files` (no Lightning). The export
happens at the end of ``fit`` and on demand with ``offpcc-pl export``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml
from torch import Tensor, nn

from offpcc_pl.checkpointing.files import atomic_write, read_checkpoint, replay_state
from offpcc_pl.checkpointing.names import algorithm_name
from offpcc_pl.encoders import ConvEncoder
from offpcc_pl.errors import ConfigError
from offpcc_pl.nets import DeterministicActor, GaussianActor, Hidden, Summarizer

POLICY_DIR = "policy"
POLICY_FILE = "policy.yaml"
ACTOR_FILE = "actor.pth"
IMAGE_PREFIX = "image_encoder."  # the conv encoder's keys in the module and in actor.pth
SUMMARIZER_FILE = "actor_summarizer.pth"
FORMAT_VERSION = 1

ActorKind = Literal["gaussian", "deterministic"]


@dataclass
class SummarizerSpec:
    """Shape of a recurrent summarizer (``--model.summarizer*`` options)."""

    kind: Literal["lstm", "gru", "rnn"]
    layers: int
    hidden_size: int


@dataclass
class PolicySpec:
    """Everything needed to rebuild the acting networks (the content of ``policy.yaml``)."""

    algorithm: str
    env_id: str
    obs_dim: int
    act_dim: int
    actor: ActorKind
    hidden_sizes: list[int]
    summarizer: SummarizerSpec | None = None
    action_noise: float = 0.0  # exploration noise of deterministic actors (stochastic acting)
    env_steps: int | None = None  # training env steps behind these weights, when known
    history: str = "obs"  # make_env(history=...): the observation carries the last act/rew
    extra: dict[str, Any] = field(default_factory=dict)  # informational (share_summarizer, …)
    # images (C, H, W) go through a conv encoder first; obs_dim is then its feature size
    image_shape: list[int] | None = None

    def to_yaml(self) -> str:
        data = {"format": FORMAT_VERSION, **asdict(self)}
        return yaml.safe_dump(data, sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> PolicySpec:
        data = yaml.safe_load(text)
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT_VERSION:
            raise ValueError(f"not a format-{FORMAT_VERSION} offpcc-pl policy.yaml")
        summarizer = data.pop("summarizer", None)
        spec = cls(**data)
        spec.summarizer = None if summarizer is None else SummarizerSpec(**summarizer)
        spec.hidden_sizes = [int(size) for size in spec.hidden_sizes]
        return spec


class Policy:
    """A trained actor as a plain callable: ``reset()`` at episode start, then ``policy(obs)``.

    Recurrent policies carry their hidden state between calls, so call :meth:`reset` at every
    episode start. Actions are in [-1, 1], matching :func:`offpcc_pl.envs.make.make_env`.

    :meth:`act` is the one acting path: an exported policy, the evaluation episodes of a
    fit and its training env steps all act through it, the last two over the training
    module's own networks (:meth:`offpcc_pl.algorithms.base.OffPolicyModule.policy`).

    Example:
        >>> policy = load_policy("checkpoints/Pendulum-v1-SAC/seed0/policy")
        >>> env = make_env(policy.env_id, history=policy.spec.history)
        >>> obs, _ = env.reset(seed=0); policy.reset()
        >>> obs, rew, terminated, truncated, info = env.step(policy(obs))
    """

    def __init__(
        self,
        spec: PolicySpec,
        actor: nn.Module,
        summarizer: Summarizer | None = None,
        deterministic: bool = True,
        image_encoder: ConvEncoder | None = None,
    ) -> None:
        """Wrap networks as they are (no copy): they act on the device they are on.

        Args:
            spec: the description the networks were built from.
            actor: actor head, mapping features to actions.
            summarizer: recurrent encoder of the observation history (None: feed-forward).
            deterministic: act with the mean action (evaluation); False samples like training.
            image_encoder: conv encoder of image observations (None: vector observations).
        """
        self.spec = spec
        self.image_encoder, self.actor, self.summarizer = image_encoder, actor, summarizer
        self.deterministic = deterministic
        self.hidden: Hidden = None

    @property
    def env_id(self) -> str:
        return self.spec.env_id

    @property
    def recurrent(self) -> bool:
        return self.summarizer is not None

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of the observations it acts on: ``(O,)``, or images ``(C, H, W)``."""
        return tuple(self.spec.image_shape or [self.spec.obs_dim])

    def reset(self) -> None:
        """Forget the observation history (call at every episode start)."""
        self.hidden = None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """One action ``(A,)`` float32 in [-1, 1] for one observation ``(O,)``."""
        act, self.hidden = self.act(obs, self.hidden)
        return act

    @torch.no_grad()
    def act(self, obs: np.ndarray, hidden: Hidden) -> tuple[np.ndarray, Hidden]:
        """One action ``(A,)`` float32 in [-1, 1] for one observation ``(O,)`` and the
        hidden state before it (None at an episode start), and the hidden state after it."""
        device = next(self.actor.parameters()).device  # wherever the module was moved
        obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=device)
        obs_t = obs_t.view(1, 1, *self.obs_shape)
        if self.image_encoder is not None:
            obs_t = self.image_encoder(obs_t)  # (1, 1, O) features of the image
        if self.summarizer is not None:
            feat, hidden = self.summarizer(obs_t, hidden)  # (1, 1, H)
        else:
            feat = obs_t
        return self._act(feat).view(-1).cpu().numpy(), hidden

    def _act(self, feat: Tensor) -> Tensor:
        if self.spec.actor == "gaussian":
            return self.actor(feat, self.deterministic)[0]  # (1, 1, A)
        act = self.actor(feat)  # (1, 1, A)
        if self.deterministic:
            return act
        # drawn at zero noise too: training's random stream never depends on the noise level
        noise = self.spec.action_noise * torch.randn_like(act)
        return (act + noise).clamp(-1.0, 1.0)

    def __repr__(self) -> str:
        memory = f", summarizer={self.spec.summarizer.kind}" if self.recurrent else ""
        return f"Policy({self.spec.algorithm} on {self.spec.env_id}{memory})"


# -- building ----------------------------------------------------------------------------------


def _sub_state(state_dict: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}


def _linear_shapes(actor_state: dict[str, Tensor]) -> list[tuple[int, int]]:
    """``(out, in)`` of the actor MLP's linear layers, in order."""
    weights = [(k, v) for k, v in actor_state.items() if k.endswith(".weight")]
    weights.sort(key=lambda item: int(item[0].split(".")[-2]))
    return [tuple(v.shape) for _, v in weights]


def _summarizer_spec(encoder_state: dict[str, Tensor], kind: str | None) -> SummarizerSpec:
    weight_ih = encoder_state["rnn.weight_ih_l0"]  # (gates * H, O)
    hidden_size = int(encoder_state["rnn.weight_hh_l0"].shape[1])
    if kind is None:  # gates per cell: LSTM 4, GRU 3, RNN 1
        kind = {4: "lstm", 3: "gru", 1: "rnn"}[weight_ih.shape[0] // hidden_size]
    layers = sum(1 for k in encoder_state if k.startswith("rnn.weight_ih_l"))
    return SummarizerSpec(kind=kind, layers=layers, hidden_size=hidden_size)


def describe(
    algorithm: str, hparams: dict[str, Any], state_dict: dict[str, Tensor]
) -> tuple[PolicySpec, dict[str, Tensor], dict[str, Tensor] | None]:
    """The policy spec and actor / summarizer weights inside an OffPolicyModule state dict.

    Dims and sizes come from the weight shapes, so any module of ours works, whatever
    options it was trained with.

    Args:
        algorithm: class name (``SAC``, ``RSAC``, …).
        hparams: the module's hyperparameters (``env_id``, ``summarizer``, …).
        state_dict: the module's ``state_dict`` (keys ``actor.*``, ``actor_encoder.*``).

    Returns:
        ``(spec, actor_state, summarizer_state)``; ``summarizer_state`` is None for
        feed-forward agents.
    """
    actor_state = _sub_state(state_dict, "actor.")
    encoder_state = _sub_state(state_dict, "actor_encoder.")
    if not actor_state:
        raise ValueError("the state dict has no 'actor.*' weights")
    gaussian = any(k.startswith("trunk.") for k in actor_state)  # GaussianActor.trunk
    kind: ActorKind = "gaussian" if gaussian else "deterministic"
    shapes = _linear_shapes(actor_state)
    out_dim = shapes[-1][0]
    act_dim = out_dim // 2 if kind == "gaussian" else out_dim
    summarizer = None
    if encoder_state:
        summarizer = _summarizer_spec(encoder_state, hparams.get("summarizer"))
        obs_dim = int(encoder_state["rnn.weight_ih_l0"].shape[1])
    else:
        obs_dim = shapes[0][1]
    extra = {k: hparams[k] for k in ("share_summarizer", "window", "burn_in") if k in hparams}
    spec = PolicySpec(
        algorithm=algorithm,
        env_id=str(hparams.get("env_id")),
        obs_dim=int(obs_dim),
        act_dim=int(act_dim),
        actor=kind,
        hidden_sizes=[int(out) for out, _ in shapes[:-1]],
        summarizer=summarizer,
        action_noise=float(hparams.get("action_noise", 0.0)),
        history=str(hparams.get("summarizer_inputs", "obs")),
        extra=extra,
    )
    image_state = _sub_state(state_dict, IMAGE_PREFIX)
    if image_state:  # image observations: the conv encoder travels with the actor
        spec.image_shape = [int(n) for n in image_state["image_shape"].tolist()]
        actor_state = {**actor_state, **{IMAGE_PREFIX + k: v for k, v in image_state.items()}}
    return spec, actor_state, (encoder_state or None)


def build_policy(
    spec: PolicySpec,
    actor_state: dict[str, Tensor],
    summarizer_state: dict[str, Tensor] | None,
    deterministic: bool = True,
) -> Policy:
    """Rebuild the networks of ``spec`` and load their weights."""
    image_state = _sub_state(actor_state, IMAGE_PREFIX)
    actor_state = {k: v for k, v in actor_state.items() if not k.startswith(IMAGE_PREFIX)}
    image_encoder = ConvEncoder.from_state_dict(image_state) if image_state else None
    m = spec.summarizer
    feat_dim = spec.obs_dim if m is None else m.hidden_size
    actor_cls = GaussianActor if spec.actor == "gaussian" else DeterministicActor
    actor = actor_cls(feat_dim, spec.act_dim, list(spec.hidden_sizes))
    actor.load_state_dict(actor_state)
    actor.eval().requires_grad_(False)
    summarizer = None
    if m is not None:
        if summarizer_state is None:
            raise ValueError("a recurrent policy needs its summarizer weights")
        summarizer = Summarizer(spec.obs_dim, m.kind, m.hidden_size, m.layers)
        summarizer.load_state_dict(summarizer_state)
        summarizer.eval().requires_grad_(False)
    if image_encoder is not None:
        image_encoder.eval()
    return Policy(spec, actor, summarizer, deterministic, image_encoder)


# -- export ------------------------------------------------------------------------------------


def write_export(
    out_dir: str | os.PathLike,
    spec: PolicySpec,
    actor_state: dict[str, Tensor],
    summarizer_state: dict[str, Tensor] | None,
) -> Path:
    """Write ``actor.pth`` (+ ``actor_summarizer.pth``) and ``policy.yaml`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().clone() for k, v in actor_state.items()}
    atomic_write(out / ACTOR_FILE, lambda f: torch.save(tensors, f))
    stale = out / SUMMARIZER_FILE
    if summarizer_state is not None:
        rnn = {k: v.detach().cpu().clone() for k, v in summarizer_state.items()}
        atomic_write(stale, lambda f: torch.save(rnn, f))
    elif stale.exists():
        stale.unlink()
    atomic_write(out / POLICY_FILE, lambda f: f.write(spec.to_yaml().encode()))
    return out


def export_module(
    module: nn.Module, out_dir: str | os.PathLike, env_steps: int | None = None
) -> Path:
    """Export the actor of a live OffPolicyModule (used at the end of ``fit``)."""
    hparams = dict(getattr(module, "hparams", {}))
    spec, actor_state, summarizer_state = describe(
        type(module).__name__, hparams, module.state_dict()
    )
    spec.env_steps = env_steps
    return write_export(out_dir, spec, actor_state, summarizer_state)


def describe_checkpoint(
    path: str | os.PathLike,
) -> tuple[PolicySpec, dict[str, Tensor], dict[str, Tensor] | None]:
    """:func:`describe` applied to a Lightning checkpoint file (``weights_only`` load)."""
    checkpoint = read_checkpoint(Path(path))
    hparams = dict(checkpoint.get("hyper_parameters") or {})
    algorithm = algorithm_name(str(hparams.get("_class_path", "unknown")))
    try:
        spec, actor_state, summarizer_state = describe(algorithm, hparams, checkpoint["state_dict"])
    except (KeyError, ValueError) as err:
        raise ConfigError(f"checkpoint '{path}' holds no offpcc-pl actor ({err})") from None
    spec.env_steps = (replay_state(checkpoint) or {}).get("env_steps")
    return spec, actor_state, summarizer_state


def export_checkpoint(
    ckpt_path: str | os.PathLike, out_dir: str | os.PathLike | None = None
) -> Path:
    """Export the actor inside a Lightning checkpoint; default ``<ckpt dir>/policy``."""
    spec, actor_state, summarizer_state = describe_checkpoint(ckpt_path)
    out = Path(ckpt_path).parent / POLICY_DIR if out_dir is None else Path(out_dir)
    return write_export(out, spec, actor_state, summarizer_state)


# -- loading -----------------------------------------------------------------------------------


def _load_export(directory: Path, deterministic: bool) -> Policy:
    try:
        spec = PolicySpec.from_yaml((directory / POLICY_FILE).read_text())
        actor_state = torch.load(directory / ACTOR_FILE, map_location="cpu", weights_only=True)
        summarizer_state = None
        if spec.summarizer is not None:
            summarizer_state = torch.load(
                directory / SUMMARIZER_FILE, map_location="cpu", weights_only=True
            )
        return build_policy(spec, actor_state, summarizer_state, deterministic)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        raise ConfigError(
            f"policy '{directory}' is incomplete or corrupt ({err.__class__.__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); re-export it with "
            "`offpcc-pl export --ckpt_path <run dir>/last.ckpt`"
        ) from None


def resolve_policy_path(path: str | os.PathLike) -> Path:
    """The export dir or checkpoint that ``path`` names: itself, ``<run>/policy``,
    ``<run>/last.ckpt`` or ``<run>/best.ckpt``, the first that is there."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise ConfigError(f"policy path '{path}' does not exist")
    for candidate in (path, path / POLICY_DIR):
        if (candidate / POLICY_FILE).is_file():
            return candidate
    for checkpoint in (path / "last.ckpt", path / "best.ckpt"):
        if checkpoint.is_file():
            return checkpoint
    raise ConfigError(
        f"'{path}' holds no exported policy ({POLICY_FILE}), no last.ckpt and no best.ckpt; "
        "export one with `offpcc-pl export --ckpt_path CKPT`"
    )


def load_policy(path: str | os.PathLike, deterministic: bool = True) -> Policy:
    """Load a trained actor as a callable :class:`Policy` (no Lightning needed).

    Args:
        path: an exported policy directory (``policy.yaml`` + ``actor.pth``), a run directory
            that holds one (``<run>/policy``), or a Lightning ``.ckpt`` file.
        deterministic: act with the mean action, as the evaluation loop does.

    Raises:
        ConfigError: the path does not exist or holds no usable policy.
    """
    resolved = resolve_policy_path(path)
    if resolved.is_dir():
        return _load_export(resolved, deterministic)
    spec, actor_state, summarizer_state = describe_checkpoint(resolved)
    return build_policy(spec, actor_state, summarizer_state, deterministic)
