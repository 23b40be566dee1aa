"""Callbacks the CLI adds to every ``fit``: policy export and the wandb x axis."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_info

from offpcc_pl.monitor import ENV_STEP_KEY, find_replay
from offpcc_pl.policy import POLICY_DIR, export_module


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


class WandbEnvStepAxis(Callback):
    """Plot every wandb metric against ``time/env_steps``, not Lightning's optimizer steps.

    Only touches a WandbLogger that is configured, so runs without one never start wandb.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                run = logger.experiment
                run.define_metric(ENV_STEP_KEY)
                run.define_metric("*", step_metric=ENV_STEP_KEY)


def fit_callbacks() -> list[Callback]:
    """The callbacks :class:`offpcc_pl.lightning_cli.OffpccCLI` appends to the trainer's."""
    return [PolicyExport(), WandbEnvStepAxis()]
