"""Atomic checkpoint writes: a crash mid-save never leaves a truncated ``last.ckpt``."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.types import _PATH
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write to a temporary file in the target directory, then rename over the target."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        path = os.fspath(path)
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".ckpt")
        try:
            with os.fdopen(fd, "wb") as file:
                torch.save(checkpoint, file)
            os.replace(tmp, path)  # atomic on POSIX and Windows
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


class EpochCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint that saves at every epoch end, whatever ``global_step`` did.

    Lightning skips a save when ``global_step`` has not moved since the last one; under
    manual optimization it stands still through the warm-up epochs (no optimizer steps),
    so ``last.ckpt`` would stop following the replay buffer and env-step counters.
    """

    def _should_skip_saving_checkpoint(self, trainer: pl.Trainer) -> bool:
        self._last_global_step_saved = -1  # epochs, not optimizer steps, decide
        return super()._should_skip_saving_checkpoint(trainer)


def run_checkpoints(root: str) -> list[ModelCheckpoint]:
    """``last.ckpt`` rewritten (atomically) at each epoch end, ``best.ckpt`` by test return.

    Two callbacks: since Lightning 2.6 ``save_last`` only follows a top-k save, so a
    monitored callback would leave ``last.ckpt`` behind whenever the return did not improve.
    """
    common = {"dirpath": root, "save_top_k": 1, "enable_version_counter": False}
    return [
        EpochCheckpoint(filename="last", monitor=None, **common),
        EpochCheckpoint(filename="best", monitor="test/episode_return", mode="max", **common),
    ]
