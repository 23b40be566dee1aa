"""Logging against environment steps, and the progress bar."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar

if TYPE_CHECKING:
    from offpcc_pl.loop import ReplayCallback

ENV_STEP_KEY = "time/env_steps"


def log_at_env_step(trainer: pl.Trainer, metrics: dict[str, float], env_steps: int) -> None:
    """Send ``metrics`` to every logger with env steps as the x axis (DESIGN.md "Counting":
    ``trainer.global_step`` counts optimizer steps and is never the env-step counter)."""
    row = {**metrics, ENV_STEP_KEY: env_steps}
    for logger in trainer.loggers:
        logger.log_metrics(row, step=env_steps)


def flush_loggers(trainer: pl.Trainer) -> None:
    for logger in trainer.loggers:
        logger.save()


def find_replay(trainer: pl.Trainer) -> ReplayCallback:
    from offpcc_pl.loop import ReplayCallback

    for callback in trainer.callbacks:
        if isinstance(callback, ReplayCallback):
            return callback
    raise RuntimeError("no ReplayCallback attached; the module's configure_callbacks adds it")


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


class EnvStepProgressBar(RichProgressBar):
    """Rich bar showing env steps and the last train and test episode returns."""

    def __init__(self, refresh_rate: int = 25) -> None:
        super().__init__(refresh_rate=refresh_rate, leave=True)

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
