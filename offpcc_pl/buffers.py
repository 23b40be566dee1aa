"""Replay buffers: preallocated float32 numpy storage, sampled into :class:`Batch` tensors,
and their sizing (default capacity, bytes per item, whether a capacity fits in memory).

Both buffers yield the same batch layout, so one set of losses serves all algorithms:
observations ``(B, T+1, O)`` (``obs[:, t+1]`` is the next observation of step t) and
``(B, T, ·)`` for the rest. A transition batch is the T=1 case without a mask.

Image replay is the one that can outgrow a machine: the seed stored 3x84x84 frames as
float32 twice per transition (169 kB; 17 GB for its 100k capacity). Stored as uint8 they take
a quarter of that, and the capacity is checked against the free memory before anything is
allocated, so a run never dies half-way with an out-of-memory kill.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from offpcc_pl.errors import ConfigError


@dataclass
class Batch:
    """A sampled batch; ``mask`` is 1 on steps that enter the loss, None when all do."""

    obs: Tensor  # (B, T+1, O)
    act: Tensor  # (B, T, A)
    rew: Tensor  # (B, T, 1)
    done: Tensor  # (B, T, 1) terminated (not truncated): 1 stops bootstrapping
    mask: Tensor | None = None  # (B, T, 1)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """On ``device``; ``non_blocking`` copies from pinned memory without a host sync."""
        return self._map(lambda v: v.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        return self._map(Tensor.pin_memory)

    def clone(self) -> Batch:
        return self._map(Tensor.clone)

    def tensors(self) -> list[Tensor | None]:
        """The fields in order, ``mask`` None where every step enters the loss."""
        return [getattr(self, f.name) for f in fields(self)]

    def _map(self, fn: Callable[[Tensor], Tensor]) -> Batch:
        return Batch(*(None if v is None else fn(v) for v in self.tensors()))


def _obs_shape(obs_dim: int | tuple[int, ...]) -> tuple[int, ...]:
    """``(O,)`` for vector observations, ``(C, H, W)`` for images."""
    return (obs_dim,) if isinstance(obs_dim, int) else tuple(obs_dim)


def _tensor(array: np.ndarray) -> Tensor:
    """A standalone copy (a view would drag the whole preallocated array into a checkpoint)."""
    return torch.from_numpy(np.array(array, copy=True))


class ReplayBuffer:
    """What the callback and the dataset use of a buffer: ``add``, ``sample``, ``len``."""

    size: int  # stored items that can be sampled (transitions, or complete episodes)

    def __len__(self) -> int:
        return self.size

    def can_sample(self) -> bool:
        return self.size > 0

    def add(
        self,
        obs: np.ndarray,
        act: np.ndarray,
        rew: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Store one env step; ``terminated`` stops bootstrapping, ``truncated`` does not."""
        raise NotImplementedError

    def drop_partial_episode(self) -> None:
        """Forget the steps of the episode in progress (its env could not be restored).

        Transitions stand alone, so a transition buffer keeps them: each pairs an
        observation with the action taken in it and the observation that followed.
        """


class TransitionBuffer(ReplayBuffer):
    """Ring buffer of single transitions (DDPG, TD3, SAC)."""

    def __init__(
        self,
        obs_dim: int | tuple[int, ...],
        act_dim: int,
        capacity: int,
        obs_dtype: type = np.float32,
    ) -> None:
        """Images are stored as they come (``obs_dtype`` uint8) and become float on the
        module's device (:class:`offpcc_pl.encoders.ConvEncoder`), never here."""
        self.capacity = capacity
        # obs and next obs side by side: one gather gives the (B, 2, O) batch layout
        self.obs = np.zeros((capacity, 2, *_obs_shape(obs_dim)), dtype=obs_dtype)
        self.act = np.zeros((capacity, act_dim), dtype=np.float32)
        self.rew = np.zeros((capacity, 1), dtype=np.float32)
        self.done = np.zeros((capacity, 1), dtype=np.float32)
        self.ptr = 0
        self.size = 0

    def add(
        self,
        obs: np.ndarray,
        act: np.ndarray,
        rew: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Store one transition; ``truncated`` needs no storage (it bootstraps like a step)."""
        i = self.ptr
        self.obs[i, 0], self.obs[i, 1], self.act[i] = obs, next_obs, act
        self.rew[i] = rew
        self.done[i] = float(terminated)  # bootstrap through time limits
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        idx = rng.integers(0, self.size, size=batch_size)  # (B,)
        return Batch(
            obs=torch.from_numpy(self.obs[idx]),  # (B, 2, O)
            act=torch.from_numpy(self.act[idx, None]),  # (B, 1, A)
            rew=torch.from_numpy(self.rew[idx, None]),  # (B, 1, 1)
            done=torch.from_numpy(self.done[idx, None]),  # (B, 1, 1)
        )

    def state_dict(self) -> dict:
        n = self.size
        return {
            "ptr": self.ptr,
            "size": n,
            **{k: _tensor(getattr(self, k)[:n]) for k in ("obs", "act", "rew", "done")},
        }

    def load_state_dict(self, state: dict) -> None:
        n = state["size"]
        if n > self.capacity:
            raise ValueError(
                f"checkpoint buffer holds {n} transitions, capacity is {self.capacity}"
            )
        for k in ("obs", "act", "rew", "done"):
            getattr(self, k)[:n] = state[k].numpy()
        self.ptr, self.size = state["ptr"], n


class EpisodeBuffer(ReplayBuffer):
    """Whole episodes for recurrent agents (the seed's RecurrentReplayBuffer).

    Slot ``ptr`` holds the episode in progress; it has length 0 (weight 0) until it ends,
    so sampling only ever sees complete episodes. Episodes longer than ``max_len`` (envs
    without a time limit) are split into stored pieces of ``max_len`` steps.
    """

    def __init__(
        self,
        obs_dim: int | tuple[int, ...],
        act_dim: int,
        capacity: int,
        max_len: int,
        obs_dtype: type = np.float32,
    ) -> None:
        self.capacity, self.max_len = capacity, max_len
        self.obs = np.zeros((capacity, max_len + 1, *_obs_shape(obs_dim)), dtype=obs_dtype)
        self.act = np.zeros((capacity, max_len, act_dim), dtype=np.float32)
        self.rew = np.zeros((capacity, max_len, 1), dtype=np.float32)
        self.done = np.zeros((capacity, max_len, 1), dtype=np.float32)
        self.lengths = np.zeros(capacity, dtype=np.int64)
        self.ptr = 0  # slot being written
        self.t = 0  # steps written into slot ptr
        self.size = 0  # complete episodes stored

    def add(
        self,
        obs: np.ndarray,
        act: np.ndarray,
        rew: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        i, t = self.ptr, self.t
        if t == 0:
            self.lengths[i] = 0  # overwriting an old episode: take it out of sampling now
            self.obs[i, 0] = obs
        self.act[i, t], self.obs[i, t + 1] = act, next_obs
        self.rew[i, t] = rew
        self.done[i, t] = float(terminated)  # bootstrap through time limits
        self.t = t + 1
        if terminated or truncated or self.t == self.max_len:
            self.lengths[i] = self.t
            self.ptr, self.t = (i + 1) % self.capacity, 0
            self.size = min(self.size + 1, self.capacity)

    def drop_partial_episode(self) -> None:
        """The next step starts slot ``ptr`` afresh: a resumed run whose env state was not
        saved never appends a new episode to the old one's first steps."""
        self.t = 0
        self.lengths[self.ptr] = 0

    def sample(
        self,
        batch_size: int,
        rng: np.random.Generator,
        window: int | None = None,
        burn_in: int = 0,
    ) -> Batch:
        """Episodes drawn with probability proportional to length (with replacement).

        Without ``window``, whole episodes padded to the longest one. With it, segments of
        ``window`` loss steps preceded by up to ``burn_in`` steps that only warm the hidden
        state (mask 0), padded to ``burn_in + window``.
        """
        lengths = self.lengths.astype(np.float64)
        idx = rng.choice(self.capacity, size=batch_size, p=lengths / lengths.sum())  # (B,)
        lens = self.lengths[idx]
        if window is None:
            begin, burn, horizon = np.zeros_like(lens), np.zeros_like(lens), int(lens.max())
            end = lens  # (B,) loss steps are [burn, end) of each row
        else:
            loss_start = rng.integers(0, np.maximum(lens - window, 0) + 1)  # (B,)
            begin = np.maximum(loss_start - burn_in, 0)
            burn, horizon = loss_start - begin, burn_in + window
            end = np.minimum(lens - begin, burn + window)
        steps = np.arange(horizon)  # (T,)
        rows = idx[:, None]
        time = begin[:, None] + steps  # (B, T)
        mask = (steps >= burn[:, None]) & (steps < end[:, None])  # (B, T)
        time_obs = np.minimum(begin[:, None] + np.arange(horizon + 1), self.max_len)  # (B, T+1)
        time = np.minimum(time, self.max_len - 1)
        return Batch(
            obs=torch.from_numpy(self.obs[rows, time_obs]),  # (B, T+1, O)
            act=torch.from_numpy(self.act[rows, time]),  # (B, T, A)
            rew=torch.from_numpy(self.rew[rows, time]),  # (B, T, 1)
            done=torch.from_numpy(self.done[rows, time]),  # (B, T, 1)
            mask=torch.from_numpy(mask[..., None].astype(np.float32)),  # (B, T, 1)
        )

    def state_dict(self) -> dict:
        # Slots are filled in order until the first wrap: only [0, filled) hold data.
        filled = self.capacity if self.size == self.capacity else self.ptr + (self.t > 0)
        return {
            "ptr": self.ptr,
            "t": self.t,
            "size": self.size,
            "lengths": _tensor(self.lengths),
            **{k: _tensor(getattr(self, k)[:filled]) for k in ("obs", "act", "rew", "done")},
        }

    def load_state_dict(self, state: dict) -> None:
        filled = state["obs"].shape[0]
        if filled > self.capacity or state["obs"].shape[1] != self.max_len + 1:
            raise ValueError(
                f"checkpoint episode buffer is {tuple(state['obs'].shape[:2])} (episodes, "
                f"steps+1); this run has capacity {self.capacity}, max length {self.max_len}"
            )
        for k in ("obs", "act", "rew", "done"):
            getattr(self, k)[:filled] = state[k].numpy()
        self.lengths[:] = state["lengths"].numpy()
        self.ptr, self.t, self.size = state["ptr"], state["t"], state["size"]


# -- sizing ----------------------------------------------------------------------------------

# Default capacities, in transitions (recurrent agents: in episodes, or episodes worth this
# many steps for images). 100k is the seed's capacity for its image tasks
# (offpcc configs/test/template_cnn_noaug.gin).
VECTOR_TRANSITIONS = 1_000_000
VECTOR_EPISODES = 5000
IMAGE_STEPS = 100_000
# float32 action, reward and done per step (the buffers' layout)
_FLOAT_BYTES = np.dtype(np.float32).itemsize


def default_capacity(image: bool, episode_len: int | None) -> int:
    """The replay capacity when none is given.

    Args:
        image: observations are images (stored as uint8).
        episode_len: the episode buffer's longest episode, None for a transition buffer.
    """
    if episode_len is None:
        return IMAGE_STEPS if image else VECTOR_TRANSITIONS
    return max(1, IMAGE_STEPS // episode_len) if image else VECTOR_EPISODES


def item_bytes(
    obs_shape: tuple[int, ...], obs_dtype: np.dtype, act_dim: int, episode_len: int | None
) -> int:
    """Bytes one stored item takes: a transition (obs and next obs side by side), or an
    episode slot of ``episode_len`` steps (``episode_len + 1`` observations and a length)."""
    obs = math.prod(obs_shape) * np.dtype(obs_dtype).itemsize
    step = (act_dim + 2) * _FLOAT_BYTES  # act, rew, done
    if episode_len is None:
        return 2 * obs + step
    return (episode_len + 1) * obs + episode_len * step + np.dtype(np.int64).itemsize


def available_memory() -> int:
    """Bytes of memory free for a new allocation (``MemAvailable``), or all of it."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB"


def check_replay_fits(capacity: int, per_item: int, unit: str, available: int) -> None:
    """Refuse, in one line, a capacity whose buffer would not fit in ``available`` bytes.

    Saving a checkpoint copies the filled buffer (``state_dict``), so a full buffer needs
    twice its size at that moment: that is what must fit.

    Raises:
        ConfigError: naming the capacity, its size, the memory free and the largest capacity
            that fits.
    """
    need = 2 * capacity * per_item
    if need <= available:
        return
    largest = available // (2 * per_item)
    raise ConfigError(
        f"replay capacity {capacity:,} {unit} x {per_item:,} bytes = "
        f"{_gigabytes(capacity * per_item)} (twice that while a checkpoint is written) does "
        f"not fit the {_gigabytes(available)} of memory free; set --model.capacity to at most "
        f"{largest:,}"
    )
