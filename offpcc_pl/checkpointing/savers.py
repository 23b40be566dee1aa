"""Lightning's side of checkpoints: ``last.ckpt`` and ``best.ckpt`` written atomically, and
saves on SIGINT/SIGTERM and on a timer, so that no interruption costs more than one env step.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytorch_lightning as pl
import torch
from jsonargparse.typing import NonNegativeFloat
from lightning_fabric.utilities.types import _PATH
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities import rank_zero_info

from offpcc_pl.checkpointing.files import atomic_write, read_checkpoint
from offpcc_pl.errors import CheckpointWriteFailed, Interrupted
from offpcc_pl.monitor import flush_loggers
from offpcc_pl.outputs import LAST_CKPT


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes to a temporary file in the target directory, then renames it over the target;
    loads plain data only (``weights_only=True``)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        path = os.fspath(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            atomic_write(path, lambda file: torch.save(checkpoint, file))
        except OSError as err:  # disk full, quota, permissions: the previous file is intact
            reason = err.strerror or str(err)
            raise CheckpointWriteFailed(
                f"could not write checkpoint '{path}' ({reason}); the previous one is intact - "
                "free some space, then continue with --ckpt_path last"
            ) from None

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return read_checkpoint(path)  # always weights_only: loading never runs code


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
    ``best.ckpt`` holds weights and hyperparameters only (no replay buffer, no optimizer):
    it is for ``evaluate`` / ``export`` / ``validate``, not for resuming.
    """
    common = {"dirpath": root, "save_top_k": 1, "enable_version_counter": False}
    return [
        EpochCheckpoint(filename="last", monitor=None, **common),
        EpochCheckpoint(
            filename="best",
            monitor="test/episode_return",
            mode="max",
            save_weights_only=True,
            **common,
        ),
    ]


class LastCheckpoint(Callback):
    """Saves ``last.ckpt`` mid-epoch: on SIGINT / SIGTERM, then stops with exit code 128 +
    signal (130 / 143), and every ``every_minutes`` of training, so that neither an
    interruption nor a power loss costs an epoch.

    The signal only sets a flag; the save happens at the end of the current train batch
    (one env step and its updates), where the state is consistent and resumes exactly. One
    that comes during an epoch's end (its evaluation) is served after the next epoch's first
    batch; one after the last batch lets the finished run end as usual (exit 0). A second
    signal interrupts at once (Lightning's KeyboardInterrupt handling, exit code 1).

    Lightning installs its own SIGTERM handler once the checkpoint is restored; it would end
    the run at an epoch end with ``SystemExit`` and exit code 0, which a supervisor reads as
    a finished run. So the handlers here cover the restore, step aside while Lightning takes
    note of the handlers it will put back (the user's), and replace Lightning's when
    training starts.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, every_minutes: NonNegativeFloat = 10.0) -> None:
        """Time-based and interrupt saves of ``last.ckpt``.

        Args:
            every_minutes: save ``last.ckpt`` after this many minutes of training since the
                last save (0: only at epoch ends and on interruption).
        """
        self.every_minutes = every_minutes
        self.requested: int | None = None  # the signal received, if any
        self._previous: dict[int, Any] = {}
        self._last_save = time.monotonic()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None:  # second signal: stop now
            raise KeyboardInterrupt
        self.requested = signum

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        self.requested = None
        try:
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        except ValueError:  # not the main thread (e.g. a Ray worker thread): no handlers
            self._previous = {}

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_handlers()  # the ones Lightning will find now and put back at the end

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last_save = time.monotonic()
        if trainer.received_sigterm:  # in the moment Lightning's handler was in place
            self.requested = self.requested or signal.SIGTERM
        for signum in self._previous:  # over Lightning's SIGTERM handler (class doc)
            signal.signal(signum, self._handle)

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._restore_handlers()
        self._previous = {}

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self.teardown(trainer, pl_module, "fit")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.requested is not None:
            rank_zero_info(
                f"{signal.Signals(self.requested).name} came after the last train batch: "
                "the run finished and its checkpoints are saved"
            )

    def path(self, trainer: pl.Trainer) -> str:
        """``last.ckpt`` beside the epoch-end one (the ``last`` ModelCheckpoint's dir)."""
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.filename == "last":
                return os.path.join(callback.dirpath, LAST_CKPT)
        return os.path.join(trainer.default_root_dir, LAST_CKPT)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        elapsed = time.monotonic() - self._last_save
        due = self.every_minutes > 0 and elapsed >= 60 * self.every_minutes
        if self.requested is not None or due:
            trainer.save_checkpoint(self.path(trainer), weights_only=False)  # the whole state
            self._last_save = time.monotonic()
        if self.requested is not None:
            self._stop(trainer)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The previous epoch's end was just saved. A signal that came during its evaluation
        # is served at the end of this epoch's first batch.
        self._last_save = time.monotonic()

    def _stop(self, trainer: pl.Trainer) -> None:
        flush_loggers(trainer)
        name = signal.Signals(self.requested).name
        replay = getattr(trainer.lightning_module, "replay", None)  # handed over at setup
        steps = "" if replay is None else f" at env step {replay.env_steps}"
        raise Interrupted(
            self.requested,
            f"{name}{steps}: saved {self.path(trainer)}; continue with --ckpt_path last",
        )
