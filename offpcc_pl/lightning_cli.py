"""OffpccCLI: LightningCLI with our run directory, checkpoints, loggers and checks."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from jsonargparse import Namespace
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import ModelCheckpoint, ProgressBar
from pytorch_lightning.cli import LightningCLI
from pytorch_lightning.loggers import CSVLogger, WandbLogger

from offpcc_pl.algorithms import OffPolicyModule
from offpcc_pl.checkpointing import (
    LAST,
    AtomicCheckpointIO,
    LastCheckpoint,
    check_same_run,
    run_checkpoints,
    run_identity,
)
from offpcc_pl.commands.fit_callbacks import fit_callbacks
from offpcc_pl.envs.make import check_env_id
from offpcc_pl.errors import ConfigError, close_matches
from offpcc_pl.loop import ReplayCallback
from offpcc_pl.monitor import EnvStepProgressBar
from offpcc_pl.policy import read_checkpoint

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
CKPT_ALIASES = ("last", "best", "hpc", "registry")

TRAINER_DEFAULTS = {
    "max_epochs": 100,
    "limit_train_batches": 1000,  # env steps per epoch: one train batch is one env step
    "num_sanity_val_steps": 0,  # no evaluation episodes before training
    "inference_mode": False,  # no inference tensors may leak into acting/training
    "enable_model_summary": False,
    "log_every_n_steps": 1000,
    "devices": 1,  # one process: see check_trainer
}
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


class _DropAdvertisement(logging.Filter):
    """Lightning 2.6 logs a LitLogger advertisement on every fit, noise in every run's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage().lower()


for _name in ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero"):
    logging.getLogger(_name).addFilter(_DropAdvertisement())


def run_group(config: Namespace) -> str:
    """``<env>-<algo>``: the run directory's parent and the W&B group."""
    algo = config.model.class_path.rsplit(".", 1)[-1]
    return f"{config.model.init_args.env_id}-{algo}"


def _wandb_offline_unless_logged_in() -> None:
    """Dashboards stay offline unless the user logged in (no account needed in tests)."""
    if "WANDB_MODE" in os.environ or os.environ.get("WANDB_API_KEY"):
        return
    netrc = Path.home() / ".netrc"
    if not (netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")):
        os.environ["WANDB_MODE"] = "offline"


def root_dir(config: Namespace, subcommand: str) -> str:
    """The run directory: ``default_root_dir``, else ``checkpoints/<env>-<algo>/seed<k>``."""
    root = config.trainer.default_root_dir
    ckpt = config.get("ckpt_path")
    if root is None and subcommand != "fit" and ckpt and Path(ckpt).is_file():
        root = os.path.dirname(ckpt)  # evaluating a saved run: log beside it
    if root is None:
        root = os.path.join("checkpoints", run_group(config), f"seed{config.seed_everything}")
    return str(root)


def check_checkpoint(config: Namespace, subcommand: str) -> None:
    """A missing, unreadable, unexpected or foreign checkpoint is a one-line error before
    anything is written (a TD3 checkpoint must not resume a SAC run)."""
    ckpt_path = config.get("ckpt_path")
    if ckpt_path in ("last",) and subcommand == "fit":
        ckpt_path = os.path.join(root_dir(config, subcommand), LAST)
        if not Path(ckpt_path).is_file():
            return  # Lightning starts afresh (multifit relies on it)
    if ckpt_path is None or ckpt_path in CKPT_ALIASES:
        return
    if not Path(ckpt_path).is_file():
        raise ConfigError(f"checkpoint '{ckpt_path}' does not exist (or use --ckpt_path last)")
    checkpoint = read_checkpoint(ckpt_path)
    replay = next(
        (v for k, v in (checkpoint.get("callbacks") or {}).items() if "ReplayCallback" in k), {}
    )
    ReplayCallback.check_state(replay)
    model = config.get("model")
    if isinstance(model, Namespace) and model.get("init_args") is not None:
        algorithm = model.class_path.rsplit(".", 1)[-1]
        identity = run_identity(algorithm, dict(model.init_args))
        check_same_run(checkpoint, identity, f"checkpoint '{ckpt_path}'")


def _device_count(devices: Any, accelerator: Any) -> int:
    """How many devices Lightning would use for ``--trainer.devices`` (``auto``/-1: all)."""
    if isinstance(devices, str) and "," in devices:  # "0,1": device indices
        return len([d for d in devices.split(",") if d.strip()])
    if isinstance(devices, (list, tuple)):
        return len(devices)
    try:
        count = int(devices)
    except (TypeError, ValueError):  # "auto"
        count = -1
    if count != -1:
        return count
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return torch.cuda.device_count() if gpu else 1


def check_trainer(trainer: Namespace) -> None:
    """One device in one process, and one that exists: the env loop and the replay buffer
    live in the training process, so several devices, nodes or a distributed strategy would
    each run an agent of their own. Refused before anything is written."""
    accelerator = trainer.get("accelerator")
    if isinstance(accelerator, str):
        accelerator = accelerator.lower()
        if accelerator not in ACCELERATORS:
            raise ConfigError(
                f"--trainer.accelerator {accelerator}: not supported"
                f"{close_matches(accelerator, ACCELERATORS)}; use one of {', '.join(ACCELERATORS)}"
            )
        if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            raise ConfigError(
                f"--trainer.accelerator {accelerator}: torch {torch.__version__} sees no CUDA GPU "
                "on this machine; use --trainer.accelerator cpu (or auto)"
            )
        if accelerator == "mps" and not torch.backends.mps.is_available():
            raise ConfigError(
                "--trainer.accelerator mps: no Apple GPU on this machine; use cpu (or auto)"
            )
    devices = trainer.get("devices")
    if _device_count(devices, accelerator) != 1:
        raise ConfigError(
            f"--trainer.devices {devices}: offpcc-pl trains on one device (its env loop and "
            "replay buffer live in one process); use --trainer.devices 1, and offpcc-pl "
            "multifit to run seeds side by side"
        )
    if (trainer.get("num_nodes") or 1) != 1:
        raise ConfigError(f"--trainer.num_nodes {trainer.num_nodes}: offpcc-pl trains on one node")
    strategy = trainer.get("strategy")
    if isinstance(strategy, str) and strategy not in ("auto", "single_device"):
        raise ConfigError(
            f"--trainer.strategy {strategy}: offpcc-pl trains in one process; use auto"
        )


class OffpccCLI(LightningCLI):
    """LightningCLI with our defaults: run directory, checkpoints, loggers, progress bar."""

    def __init__(self, args: list[str] | None = None) -> None:
        no_exit = {"exit_on_error": False}
        super().__init__(
            OffPolicyModule,
            subclass_mode_model=True,
            seed_everything_default=0,
            trainer_defaults=TRAINER_DEFAULTS,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={**no_exit, **{cmd: no_exit for cmd in LIGHTNING_SUBCOMMANDS}},
            args=args,
        )

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """fit / validate / test: ``predict`` means nothing for an RL agent."""
        return {k: v for k, v in LightningCLI.subcommands().items() if k != "predict"}

    def add_arguments_to_parser(self, parser: Any) -> None:
        # --last_checkpoint.every_minutes: time-based saves, and saves on SIGINT/SIGTERM
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")

    def parse_arguments(self, parser: Any, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand") or ""
        config = self.config.get(subcommand, self.config)
        model = config.get("model")
        if isinstance(model, Namespace) and model.get("init_args") is not None:
            check_env_id(model.init_args.env_id)
        if isinstance(config.get("trainer"), Namespace):
            check_trainer(config.trainer)
        check_checkpoint(config, subcommand)

    def _subcommand_config(self) -> Namespace:
        return self.config[self.subcommand]

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        config = self._subcommand_config()
        root = root_dir(config, self.subcommand)
        callbacks = list(self._get(self.config_init, "trainer").get("callbacks") or [])
        if not any(isinstance(c, ReplayCallback) for c in callbacks):
            callbacks.insert(0, ReplayCallback())  # acts before anything reads its counters
        if not any(isinstance(c, ModelCheckpoint) for c in callbacks):
            callbacks += run_checkpoints(root)
        if config.trainer.enable_progress_bar is not False and not any(
            isinstance(c, ProgressBar) for c in callbacks
        ):
            callbacks.append(EnvStepProgressBar())
        callbacks.extend(fit_callbacks())  # policy export at fit end, wandb x axis
        return super().instantiate_trainer(
            default_root_dir=root,
            callbacks=callbacks,
            logger=self._loggers(root, config),
            plugins=[AtomicCheckpointIO()],
            **kwargs,
        )

    def _loggers(self, root: str, config: Namespace) -> list:
        configured = self._get(self.config_init, "trainer").get("logger")
        loggers = [
            lg
            for lg in (configured if isinstance(configured, list) else [configured])
            if lg not in (None, True, False)
        ]
        if not any(isinstance(lg, CSVLogger) for lg in loggers):
            loggers.insert(0, CSVLogger(save_dir=root, name="csv"))  # always written
        group = run_group(config)
        for logger in loggers:
            if isinstance(logger, WandbLogger):
                _wandb_offline_unless_logged_in()
                init = logger._wandb_init  # not started yet: fill in our naming
                init.setdefault("group", group)
                if not init.get("name"):
                    init["name"] = f"{group}-seed{config.seed_everything}"
                init["dir"] = root
                logger._save_dir = root
        return loggers
