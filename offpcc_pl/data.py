"""ReplayDataset: an endless stream of batches sampled from the callback's replay buffer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import IterableDataset

from offpcc_pl.buffers import Batch, EpisodeBuffer, TransitionBuffer


class ReplayDataset(IterableDataset):
    """Yields ready-made :class:`Batch` objects; never ends by itself.

    The epoch length comes from ``Trainer(limit_train_batches=...)`` (DESIGN.md "Counting").
    Use with ``DataLoader(dataset, batch_size=None, num_workers=0)``: the buffer lives in
    the main process and is filled by the callback between draws. The modules pull from the
    iterator inside ``training_step`` (``dataloader_iter``), so a batch is drawn only after
    the callback stored the newest transition, and never during warm-up.
    """

    def __init__(
        self,
        buffer: TransitionBuffer | EpisodeBuffer,
        batch_size: int,
        rng: np.random.Generator,
        window: int | None = None,
        burn_in: int = 0,
    ) -> None:
        self.buffer, self.batch_size, self.rng = buffer, batch_size, rng
        self.window, self.burn_in = window, burn_in

    def __iter__(self) -> Iterator[Batch]:
        while True:
            if isinstance(self.buffer, EpisodeBuffer):
                yield self.buffer.sample(self.batch_size, self.rng, self.window, self.burn_in)
            else:
                yield self.buffer.sample(self.batch_size, self.rng)
