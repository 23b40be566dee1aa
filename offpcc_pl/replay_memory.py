"""How much memory a replay buffer takes, its default capacity, and whether it fits here.

Image replay is the one that can outgrow a machine: the seed stored 3x84x84 frames as
float32 twice per transition (169 kB; 17 GB for its 100k capacity). Stored as uint8 they take
a quarter of that (:mod:`offpcc_pl.buffers`), and the capacity is checked against the free
memory before anything is allocated, so a run never dies half-way with an out-of-memory kill.
"""

from __future__ import annotations

import math
import os

import numpy as np

from offpcc_pl.errors import ConfigError

# Default capacities, in transitions (recurrent agents: in episodes, or episodes worth this
# many steps for images). 100k is the seed's capacity for its image tasks
# (offpcc configs/test/template_cnn_noaug.gin).
VECTOR_TRANSITIONS = 1_000_000
VECTOR_EPISODES = 5000
IMAGE_STEPS = 100_000
# float32 action, reward and done per step (buffers.py layout)
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
