"""OffpccCLI: LightningCLI with our run directory, checkpoints, loggers and checks."""

from __future__ import annotations

import logging
import netrc
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import torch
from jsonargparse import Namespace
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import ModelCheckpoint, ProgressBar
from pytorch_lightning.cli import LightningCLI
from pytorch_lightning.loggers import CSVLogger, WandbLogger

from offpcc_pl.algorithms import OffPolicyModule
from offpcc_pl.callbacks import EnvStepProgressBar, LoggersOnceSetUp, fit_callbacks
from offpcc_pl.checkpointing.files import (
    check_checkpoint_file,
    check_same_run,
    read_checkpoint,
    replay_state,
    run_identity,
)
from offpcc_pl.checkpointing.names import algorithm_name, run_directory, run_group
from offpcc_pl.checkpointing.savers import AtomicCheckpointIO, LastCheckpoint, run_checkpoints
from offpcc_pl.envs.make import check_env_id
from offpcc_pl.errors import (
    CheckpointError,
    ConfigError,
    close_matches,
    find_cause,
    wandb_refusal,
)
from offpcc_pl.loop import ReplayCallback
from offpcc_pl.option_checks import check_cli_options
from offpcc_pl.outputs import (
    BEST_CKPT,
    LAST_CKPT,
    check_output_dir,
    not_there_yet,
    run_contents,
)

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
# --ckpt_path last / best: the run directory's own files (Lightning's own "last" and "best"
# look only at what this process saved, so validate would play an untrained network)
CKPT_ALIASES = {"last": LAST_CKPT, "best": BEST_CKPT}

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


def env_and_algorithm(config: Namespace) -> tuple[str, str]:
    """The env id and the algorithm's short name a run's config names."""
    return config.model.init_args.env_id, algorithm_name(config.model.class_path)


def wandb_logged_in() -> bool:
    """Whether wandb finds credentials as it looks for them: ``WANDB_API_KEY``,
    ``WANDB_IDENTITY_TOKEN_FILE``, or a key for the W&B server (``WANDB_BASE_URL``, default
    api.wandb.ai, as host[:port]) in the netrc file (``$NETRC``, else ``~/.netrc``), where
    ``wandb login`` keeps it."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    server = urlsplit(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").netloc
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc").expanduser()
    try:
        entry = netrc.netrc(path).authenticators(server)
    except (OSError, netrc.NetrcParseError):  # wandb too reads no key from it then
        return False
    return entry is not None and bool(entry[2])


def wandb_offline_unless_logged_in(logger: WandbLogger) -> None:
    """A W&B run is offline (files under the run directory, ``wandb sync`` uploads them)
    unless the user is logged in; the user's own choice wins: ``WANDB_MODE``, or
    ``offline`` set on the logger."""
    init = logger._wandb_init  # not started yet
    if logger._offline or "WANDB_MODE" in os.environ or init.get("mode"):
        return
    if not wandb_logged_in():
        init["mode"] = "offline"


def root_dir(config: Namespace, subcommand: str) -> str:
    """The run directory: ``default_root_dir``, else ``checkpoints/<env>-<algo>/seed<k>``."""
    root = config.trainer.default_root_dir
    ckpt = config.get("ckpt_path")
    if root is None and subcommand != "fit" and ckpt and Path(ckpt).is_file():
        root = os.path.dirname(ckpt) or "."  # evaluating a saved run: log beside it
    if root is None:
        root = run_directory(*env_and_algorithm(config), config.seed_everything)
    return str(root)


def _listed(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most] + ([f"... ({len(names)} in all)"] if len(names) > most else []))


def check_new_run(root: str) -> None:
    """A fit without ``--ckpt_path`` starts a run: refused where one is already, since its
    checkpoints, policy and logs would be replaced or mixed with the new run's."""
    found = run_contents(root)
    if found:
        raise ConfigError(
            f"run directory '{root}' already holds a run ({_listed(found)}); continue it with "
            "--ckpt_path last, or start a new run in another directory with "
            "--trainer.default_root_dir DIR"
        )


def _checkpoint_file(ckpt_path: str, root: str) -> str:
    """The file ``--ckpt_path`` names: ``last`` / ``best`` in the run directory, else a path."""
    if ckpt_path in CKPT_ALIASES:
        path = os.path.join(root, CKPT_ALIASES[ckpt_path])
        if not Path(path).is_file():
            raise ConfigError(
                f"--ckpt_path {ckpt_path}: run directory '{root}' holds no "
                f"{CKPT_ALIASES[ckpt_path]}; name the run with --trainer.default_root_dir "
                "(or --seed_everything), or give a checkpoint file"
            )
        return path
    check_checkpoint_file(ckpt_path, "last, best or a checkpoint file", "or last / best")
    return ckpt_path


def check_checkpoint(config: Namespace, subcommand: str) -> str | None:
    """Before anything is written: the run directory can take the run, and ``--ckpt_path``
    names a usable checkpoint of this run (a TD3 checkpoint must not resume a SAC run).

    ``validate`` / ``test`` need a checkpoint: without one they would report an untrained
    network's returns.

    Returns:
        The checkpoint file to load (``last`` / ``best``: the run directory's), or None.
    """
    root = root_dir(config, subcommand)
    check_output_dir(root, "--trainer.default_root_dir")
    ckpt_path = config.get("ckpt_path")
    if ckpt_path is None:
        if subcommand != "fit":
            raise ConfigError(
                f"{subcommand} needs --ckpt_path: last, best or a checkpoint file (without "
                "one it would play an untrained network)"
            )
        check_new_run(root)
        return None
    ckpt_path = _checkpoint_file(str(ckpt_path), root)
    if subcommand == "fit":
        found = run_contents(root)
        if found and Path(ckpt_path).resolve().parent != Path(root).resolve():
            raise ConfigError(
                f"run directory '{root}' already holds a run ({_listed(found)}), which "
                f"continuing '{ckpt_path}' there would replace; continue that run with "
                "--ckpt_path last, or give this one another --trainer.default_root_dir"
            )
    checkpoint = read_checkpoint(ckpt_path)
    if subcommand == "fit" and "optimizer_states" not in checkpoint:
        raise CheckpointError(
            f"checkpoint '{ckpt_path}' holds weights only (no optimizer or replay state), so "
            "it cannot continue a run; continue from last.ckpt (--ckpt_path last), or use it "
            "with validate, evaluate or export"
        )
    ReplayCallback.check_state(replay_state(checkpoint))
    model = config.get("model")
    if isinstance(model, Namespace) and model.get("init_args") is not None:
        identity = run_identity(algorithm_name(model.class_path), dict(model.init_args))
        check_same_run(checkpoint, identity, f"checkpoint '{ckpt_path}'")
    return ckpt_path


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
    check_epoch_length(trainer)


def check_epoch_length(trainer: Namespace) -> None:
    """The epoch options Lightning checks only once the run's logs are written: an epoch is
    an endless replay stream cut after ``limit_train_batches`` env steps, which has no
    length to take a fraction of (1.0 would never end), and evaluations within it come at
    most that many env steps apart."""
    limit = trainer.get("limit_train_batches")
    if isinstance(limit, float):
        raise ConfigError(
            f"--trainer.limit_train_batches {limit}: an epoch is a whole number of env steps "
            "(e.g. 1000), not a fraction"
        )
    interval = trainer.get("val_check_interval")
    validates = trainer.get("check_val_every_n_epoch", 1) is not None and (
        trainer.get("limit_val_batches") is None or trainer.get("limit_val_batches") > 0
    )
    if isinstance(interval, int) and isinstance(limit, int) and interval > limit and validates:
        raise ConfigError(
            f"--trainer.val_check_interval {interval}: more than the {limit} env steps of an "
            "epoch (--trainer.limit_train_batches); give at most that"
        )


# What the CSV logger and Lightning's SaveConfigCallback write while a run is set up, before
# any checkpoint is restored or any env step is taken.
SETUP_FILES = ("hparams.yaml", "config.yaml")


def discard_unused_logs(new_dirs: list[Path]) -> None:
    """Take back what a refused run wrote while it was set up: the log directories it
    created, as long as they hold only the setup files (a run that logged a metric keeps
    its logs), and the directories above them it created and left empty."""
    for directory in new_dirs:
        if not directory.is_dir() or (directory / "metrics.csv").exists():
            continue
        for name in SETUP_FILES:
            (directory / name).unlink(missing_ok=True)
        if not any(directory.iterdir()):
            directory.rmdir()


def is_refusal(err: BaseException | None) -> bool:
    """Whether ``err`` (or what it wraps) is a user's bad input, which the CLI prints as one
    line with exit code 2."""
    refusal = ConfigError | MisconfigurationException
    found = find_cause(err, lambda cause: isinstance(cause, refusal) or wandb_refusal(cause))
    return found is not None


class OffpccCLI(LightningCLI):
    """LightningCLI with our defaults: run directory, checkpoints, loggers, progress bar."""

    def __init__(self, args: list[str] | None = None) -> None:
        self._new_log_dirs: list[Path] = []  # what a refusal during setup takes back
        self._checkpoint: str | None = None  # the file --ckpt_path names, checked
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
        check_cli_options(config)
        model = config.get("model")
        if isinstance(model, Namespace) and model.get("init_args") is not None:
            check_env_id(model.init_args.env_id)
        if isinstance(config.get("trainer"), Namespace):
            check_trainer(config.trainer)
        self._checkpoint = check_checkpoint(config, subcommand)

    def _prepare_subcommand_kwargs(self, subcommand: str) -> dict[str, Any]:
        # `last` / `best` become the run directory's file only here: the config keeps the
        # alias, so Lightning does not replace the command line's model options with the
        # checkpoint's hyperparameters, which it does for a path (LightningCLI._parse_ckpt_path)
        kwargs = super()._prepare_subcommand_kwargs(subcommand)
        if kwargs.get("ckpt_path") in CKPT_ALIASES:
            kwargs["ckpt_path"] = self._checkpoint
        return kwargs

    def _subcommand_config(self) -> Namespace:
        return self.config[self.subcommand]

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        config = self._subcommand_config()
        root = root_dir(config, self.subcommand)
        configured = self._get(self.config_init, "trainer").get("callbacks") or []
        # one callback may be given as itself, not in a list
        callbacks = list(configured) if isinstance(configured, list | tuple) else [configured]
        if not any(isinstance(c, ReplayCallback) for c in callbacks):
            callbacks.insert(0, ReplayCallback())  # acts before anything reads its counters
        if not any(isinstance(c, ModelCheckpoint) for c in callbacks):
            callbacks += run_checkpoints(root)
        if config.trainer.enable_progress_bar is not False and not any(
            isinstance(c, ProgressBar) for c in callbacks
        ):
            callbacks.append(EnvStepProgressBar())
        callbacks.extend(fit_callbacks())  # policy export at fit end, wandb x axis
        loggers = self._loggers(root, config)
        csv_loggers = [lg for lg in loggers if isinstance(lg, CSVLogger)]
        callbacks.append(LoggersOnceSetUp([lg for lg in loggers if lg not in csv_loggers]))
        trainer = super().instantiate_trainer(
            default_root_dir=root,
            callbacks=callbacks,
            logger=csv_loggers,
            plugins=[AtomicCheckpointIO()],
            **kwargs,
        )
        logs = (Path(lg.log_dir) for lg in trainer.loggers if isinstance(lg, CSVLogger))
        self._new_log_dirs = not_there_yet(logs)
        return trainer

    def _run_subcommand(self, subcommand: str) -> None:
        try:
            super()._run_subcommand(subcommand)
        except Exception as err:
            if is_refusal(err):
                discard_unused_logs(self._new_log_dirs)
            raise

    def _loggers(self, root: str, config: Namespace) -> list:
        configured = self._get(self.config_init, "trainer").get("logger")
        loggers = [
            lg
            for lg in (configured if isinstance(configured, list) else [configured])
            if lg not in (None, True, False)
        ]
        if not any(isinstance(lg, CSVLogger) for lg in loggers):
            loggers.insert(0, CSVLogger(save_dir=root, name="csv"))  # always written
        group = run_group(*env_and_algorithm(config))
        for logger in loggers:
            if isinstance(logger, WandbLogger):
                wandb_offline_unless_logged_in(logger)
                init = logger._wandb_init  # not started yet: fill in our naming
                if init.get("anonymous") is None:  # wandb warns that the setting is gone
                    init.pop("anonymous", None)
                init.setdefault("group", group)
                if not init.get("name"):
                    init["name"] = f"{group}-seed{config.seed_everything}"
                if init.get("dir") in (None, "."):  # a save_dir the user gave is kept
                    init["dir"] = root
                    logger._save_dir = root
        return loggers
