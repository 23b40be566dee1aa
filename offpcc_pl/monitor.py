"""Logging against environment steps: the x axis of every metric a run writes.

Light on purpose (Lightning only for type names): ``offpcc-pl plot`` reads the run logs by
:data:`ENV_STEP_KEY` without importing Lightning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytorch_lightning as pl

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
