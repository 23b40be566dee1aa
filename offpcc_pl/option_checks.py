"""Options LightningCLI offers that an offpcc-pl run cannot honour, refused in one line before
anything is written.

LightningCLI shows every ``Trainer`` argument and its own ``--optimizer``, ``--lr_scheduler``
and ``--data``. An agent collects its own data, builds its own Adam optimizers and steps them
itself (manual optimization), counts its budget in env steps and keeps float32 buffers, so
several of these would be ignored or would break the run only after its logs were written.
Each check names the option, the value given and what to use instead.
"""

from __future__ import annotations

from typing import Any

from jsonargparse import Namespace

from offpcc_pl.errors import ConfigError

# numpy's seed range, which Lightning's seed_everything enforces only once the run starts
MAX_SEED = 2**32 - 1
FLOAT32 = (None, 32, "32", "32-true")
# the run's epoch length and logging (lightning_cli.TRAINER_DEFAULTS)
LOG_EVERY_N_STEPS = 1000
BUDGET = "set the budget with --trainer.max_epochs x --trainer.limit_train_batches (env steps)"

# (option, the values that leave it off, why offpcc-pl refuses any other value)
_NOT_HONOURED: tuple[tuple[str, tuple[Any, ...], str], ...] = (
    (
        "max_steps",
        (-1, None),
        "counts Lightning's optimizer steps (two or three per update, none during the "
        f"warm-up), not env steps; {BUDGET}",
    ),
    ("min_steps", (None,), f"counts Lightning's optimizer steps, not env steps; {BUDGET}"),
    (
        "gradient_clip_val",
        (None, 0),
        "the agents step their own optimizers (manual optimization), which Lightning does not clip",
    ),
    ("gradient_clip_algorithm", (None,), "the agents' gradients are not clipped"),
    (
        "accumulate_grad_batches",
        (1,),
        "every update steps its optimizers once (manual optimization); more data per "
        "update is --model.batch_size",
    ),
    (
        "overfit_batches",
        (0,),
        "an agent learns from the replay of its own experience, not a fixed data set",
    ),
    ("limit_predict_batches", (None,), "offpcc-pl has no predict command"),
    (
        "log_every_n_steps",
        (None, LOG_EVERY_N_STEPS),
        "training metrics are logged once per epoch (means over its updates) and test "
        "metrics at each evaluation; an epoch is --trainer.limit_train_batches env steps",
    ),
    (
        "plugins",
        (None, []),
        "offpcc-pl sets its own (checkpoints are written atomically) and trains in float32",
    ),
    (
        "barebones",
        (False,),
        "an offpcc-pl run always writes its CSV log and checkpoints (resuming needs them)",
    ),
    (
        "enable_checkpointing",
        (None, True),
        "an offpcc-pl run always saves last.ckpt and best.ckpt (resuming needs them); "
        "--last_checkpoint.every_minutes 0 turns off only the timed saves",
    ),
    (
        "model_registry",
        (None,),
        "offpcc-pl uploads no model; its policy is exported to RUN/policy",
    ),
)


def _shown(value: Any) -> str:
    """A value as the user wrote it: a class by its name, a list item by item."""
    if isinstance(value, list | tuple):
        return ",".join(_shown(item) for item in value)
    if isinstance(value, Namespace):
        return str(value.get("class_path", "")).rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return str(value).lower()
    return "''" if value == "" else str(value)


def _refuse(option: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"{option} {_shown(value)}: {why}")


def check_seed(seed: Any) -> None:
    """``--seed_everything``: a whole number numpy can seed with (true picks one at random)."""
    if isinstance(seed, bool) or seed is None:
        return
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(
            f"--seed_everything {seed}: a seed is a whole number from 0 to {MAX_SEED} "
            "(or true for a random one)"
        )


def check_trainer_options(trainer: Namespace) -> None:
    """Trainer options an offpcc-pl run would ignore or fail on after writing its logs."""
    for name, off, why in _NOT_HONOURED:
        value = trainer.get(name)
        if value not in off:
            raise _refuse(f"--trainer.{name}", value, why)
    precision = trainer.get("precision")
    if precision not in FLOAT32:
        raise _refuse(
            "--trainer.precision",
            precision,
            "offpcc-pl trains in float32 (its replay buffers, acting and losses are "
            "float32); use 32-true",
        )
    limit = trainer.get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit < 1:
        raise _refuse("--trainer.limit_train_batches", limit, "an epoch is at least one env step")
    interval = trainer.get("val_check_interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and interval < 1:
        raise _refuse(
            "--trainer.val_check_interval",
            interval,
            "evaluate every N >= 1 env steps, or leave it out (at each epoch end)",
        )
    nodes = trainer.get("num_nodes")
    if nodes is not None and nodes != 1:
        raise _refuse("--trainer.num_nodes", nodes, "offpcc-pl trains on one node; use 1")
    every = trainer.get("check_val_every_n_epoch")
    if every is not None and every < 1:
        raise _refuse(
            "--trainer.check_val_every_n_epoch",
            every,
            "evaluate every N >= 1 epochs (null: only with --trainer.val_check_interval)",
        )
    sanity = trainer.get("num_sanity_val_steps")
    if sanity is not None and sanity < -1:
        raise _refuse(
            "--trainer.num_sanity_val_steps",
            sanity,
            "test episodes before training: 0 (none), N, or -1 (--model.eval_episodes)",
        )
    min_epochs, max_epochs = trainer.get("min_epochs"), trainer.get("max_epochs")
    if min_epochs is not None and max_epochs not in (None, -1) and min_epochs > max_epochs:
        raise _refuse(
            "--trainer.min_epochs",
            min_epochs,
            f"more than --trainer.max_epochs {max_epochs}; give at most that",
        )
    if trainer.get("default_root_dir") == "":
        raise _refuse(
            "--trainer.default_root_dir", "", "give a directory for the run (or leave it out)"
        )


def check_cli_options(config: Namespace) -> None:
    """Everything above for one subcommand's config (``fit``, ``validate`` or ``test``)."""
    check_seed(config.get("seed_everything"))
    if isinstance(config.get("trainer"), Namespace):
        check_trainer_options(config.trainer)
    for name, why in (
        ("optimizer", "the agents build their own Adam optimizers; set --model.lr"),
        ("lr_scheduler", "the agents step their own optimizers and use no scheduler"),
        ("data", "an agent collects its own data from --model.env_id"),
    ):
        value = config.get(name)
        if value is not None:
            raise _refuse(f"--{name}", value, why)
    if config.get("weights_only") is False:
        raise _refuse(
            "--weights_only",
            False,
            "offpcc-pl loads checkpoints as tensors and plain values only (weights_only=True), "
            "so loading one never runs code",
        )
