"""Callbacks the CLI adds to a run beside the replay callback and the checkpoints: the
progress bar in env steps, the policy export at the end of ``fit``, the wandb x axis, and the
loggers that join once the run is set up."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, RichProgressBar
from pytorch_lightning.loggers import Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_info

from offpcc_pl.loop import find_replay
from offpcc_pl.monitor import ENV_STEP_KEY
from offpcc_pl.policy import POLICY_DIR, export_module


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


class PolicyExport(Callback):
    """At the end of ``fit``, export the actor to ``<default_root_dir>/policy``."""

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        try:
            env_steps: int | None = find_replay(trainer).env_steps
        except RuntimeError:
            env_steps = None
        out = export_module(pl_module, Path(trainer.default_root_dir) / POLICY_DIR, env_steps)
        rank_zero_info(f"policy exported to {out}")


class LoggersOnceSetUp(Callback):
    """Gives the trainer the run's loggers (other than the CSV one) only once the run is set
    up and its checkpoint restored.

    Lightning starts every logger's experiment while it sets a run up (a W&B run, online
    for a logged-in user), before the replay buffer is made and the checkpoint restored; a
    run refused there (a checkpoint that does not fit, a buffer that does not fit memory)
    would leave a W&B run behind. Fit gets them at ``on_fit_start``, before Lightning logs
    the hyperparameters; validate and test when their loop starts, with the
    hyperparameters logged here.
    """

    def __init__(self, loggers: list[Logger]) -> None:
        self.loggers = loggers

    def _attach(self, trainer: pl.Trainer) -> bool:
        if not self.loggers or self.loggers[0] in trainer.loggers:
            return False
        trainer.loggers = [*trainer.loggers, *self.loggers]
        return True

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._attach(trainer)

    def _attach_and_log(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._attach(trainer) and trainer.enable_autolog_hparams:
            hparams = {k: v for k, v in pl_module.hparams_initial.items() if k != "_class_path"}
            for logger in self.loggers:
                logger.log_hyperparams(hparams)
                logger.save()

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._attach_and_log(trainer, pl_module)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._attach_and_log(trainer, pl_module)


class WandbEnvStepAxis(Callback):
    """Plot every wandb metric against ``time/env_steps``, not Lightning's optimizer steps.

    Only touches a WandbLogger that is configured, so runs without one never start wandb;
    and only once training starts, so a run refused while it is set up (a checkpoint that
    does not fit, say) leaves no W&B run behind.
    """

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                run = logger.experiment
                run.define_metric(ENV_STEP_KEY)
                run.define_metric("*", step_metric=ENV_STEP_KEY)


def fit_callbacks() -> list[Callback]:
    """The callbacks :class:`offpcc_pl.lightning_cli.OffpccCLI` appends to the trainer's."""
    return [PolicyExport(), WandbEnvStepAxis()]
