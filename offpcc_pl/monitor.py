"""Logging against environment steps, and the progress bar."""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar

ENV_STEP_KEY = "time/env_steps"


def log_at_env_step(trainer: pl.Trainer, metrics: dict[str, float], env_steps: int) -> None:
    """Send ``metrics`` to every logger with env steps as the x axis: ``trainer.global_step``
    counts optimizer steps (two or three per update) and is never the env-step counter."""
    row = {**metrics, ENV_STEP_KEY: env_steps}
    for logger in trainer.loggers:
        logger.log_metrics(row, step=env_steps)


def flush_loggers(trainer: pl.Trainer) -> None:
    for logger in trainer.loggers:
        logger.save()


@runtime_checkable
class ReplaySource(Protocol):
    """What the monitors read of the replay callback (:mod:`offpcc_pl.loop`), which they
    find among the trainer's callbacks without importing it."""

    env_steps: int
    last_train_return: float
    last_test_return: float


def find_replay(trainer: pl.Trainer) -> ReplaySource:
    for callback in trainer.callbacks:
        if isinstance(callback, ReplaySource):
            return callback
    raise RuntimeError(
        "no replay callback: pass callbacks=[offpcc_pl.loop.ReplayCallback()] to the Trainer "
        "(the offpcc-pl CLI adds it)"
    )


def steps_in_epoch(trainer: pl.Trainer) -> int:
    """Train batches run in this epoch, which are env steps (one env step per batch)."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.ready


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


class EnvStepProgressBar(RichProgressBar):
    """Rich bar counting env steps (warm-up included) with the last train and test returns."""

    def __init__(self, refresh_rate: int = 25) -> None:
        super().__init__(refresh_rate=refresh_rate, leave=True)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        # Lightning passes the index of fetched batches, which stands still in warm-up and
        # moves updates_per_step times per step: count env steps instead.
        super().on_train_batch_end(trainer, pl_module, outputs, batch, steps_in_epoch(trainer) - 1)

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        try:
            replay = find_replay(trainer)
        except RuntimeError:
            return metrics
        metrics["env_steps"] = replay.env_steps
        metrics["train_return"] = _fmt(replay.last_train_return)
        metrics["test_return"] = _fmt(replay.last_test_return)
        return metrics
