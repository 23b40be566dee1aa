"""ReplayDataset: an endless stream of update batches sampled from the callback's buffer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from offpcc_pl.buffers import Batch, EpisodeBuffer, TransitionBuffer


class ReplayDataset(IterableDataset):
    """Yields, per env step, the list of ``updates_per_step`` batches; never ends by itself.

    The epoch length, in env steps, comes from ``Trainer(limit_train_batches=...)``.
    Use with :class:`ResumableLoader`: the buffer lives in the main process and is filled by
    the callback between draws. The modules pull from the iterator inside ``training_step``
    (``dataloader_iter``), so a batch is drawn only after the callback stored the newest
    transition, and never during warm-up. One item per env step, whatever
    ``updates_per_step`` is: Lightning limits an epoch by items fetched, so fetching one per
    update would end epochs early.
    """

    def __init__(
        self,
        buffer: TransitionBuffer | EpisodeBuffer,
        batch_size: int,
        rng: np.random.Generator,
        window: int | None = None,
        burn_in: int = 0,
        updates_per_step: int = 1,
        pin: bool = False,
    ) -> None:
        """``pin``: batches in page-locked memory, for a module on a CUDA device."""
        self.buffer, self.batch_size, self.rng = buffer, batch_size, rng
        self.window, self.burn_in = window, burn_in
        self.updates_per_step, self.pin = updates_per_step, pin

    def sample(self) -> Batch:
        if isinstance(self.buffer, EpisodeBuffer):
            batch = self.buffer.sample(self.batch_size, self.rng, self.window, self.burn_in)
        else:
            batch = self.buffer.sample(self.batch_size, self.rng)
        return batch.pin_memory() if self.pin else batch  # CUDA: copied without a host sync

    def __iter__(self) -> Iterator[list[Batch]]:
        while True:
            yield [self.sample() for _ in range(self.updates_per_step)]


class ResumableLoader(DataLoader):
    """``DataLoader(dataset, batch_size=None, num_workers=0)`` that Lightning may resume
    mid-epoch: its only state (buffer and sampling RNG) is checkpointed by the callback.

    Its own torch generator: making an iterator draws a seed, and a resumed run makes one
    more than a straight run; from the global RNG that would shift acting noise.
    """

    def __init__(self, dataset: IterableDataset | Sequence) -> None:
        super().__init__(dataset, batch_size=None, num_workers=0, generator=torch.Generator())

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass
