"""The ``offpcc-pl`` command: LightningCLI's fit / validate / test plus our own subcommands.

This module stays light: Lightning is imported only for the Lightning subcommands, so
``offpcc-pl envs | evaluate | record | plot | ...`` start in a second or two.
"""

from __future__ import annotations

import importlib
import inspect
import signal
import sys
import warnings
from pathlib import Path

from offpcc_pl.checkpointing.names import check_algorithm
from offpcc_pl.commands import lazy_command
from offpcc_pl.errors import (
    CheckpointWriteFailed,
    ConfigError,
    Interrupted,
    TrainingDiverged,
    find_cause,
    parser_message,
    wandb_refusal,
)


def _init_options(class_path: str) -> list[str]:
    """The constructor options of ``class_path`` and its bases (for "did you mean")."""
    module, name = class_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    inits = [vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c)]
    names = {p for init in inits for p in inspect.signature(init).parameters}
    return sorted(names - {"self", "args", "kwargs"})


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def check_config_files(argv: list[str]) -> None:
    """Name a missing or malformed ``--config`` file (jsonargparse's message omits the path)."""
    import yaml

    paths = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--config", "-c")]
    paths += [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
    for path in paths:
        if Path(path).is_dir():
            raise ConfigError(f"config file '{path}' is a directory; give a YAML file")
        if not Path(path).is_file():
            raise ConfigError(f"config file '{path}' does not exist (see configs/ for examples)")
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"config file '{path}' cannot be read ({reason})") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"config file '{path}' is not valid YAML{where}") from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(
                f"config file '{path}' holds a {type(data).__name__}, not a mapping of options "
                "(model:, trainer:, ...; see configs/ for examples)"
            )


def check_model_flags(argv: list[str]) -> None:
    """Name an unknown ``--model X`` directly (jsonargparse's own message is long)."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--model" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--model="):
            value = arg.split("=", 1)[1]
        if value and not value.endswith((".yaml", ".yml", ".json")) and not value.startswith("{"):
            check_algorithm(value)


def _config_error(err: BaseException) -> ConfigError | None:
    """The ConfigError behind ``err``: jsonargparse and Lightning wrap the ones raised while
    the module or trainer is built (e.g. ``--model.burn_in 5`` without a window)."""
    return find_cause(err, lambda cause: isinstance(cause, ConfigError))


def _quiet_known_warnings() -> None:
    """Silence warnings about choices made on purpose (they would drown the real ones)."""
    for pattern in (
        ".*dataloader_iter.*",
        ".*smaller than the logging interval.*",
        ".*Checkpoint directory .* exists and is not empty.*",
        ".*Experiment logs directory .* exists.*",
        ".*precision lowered by casting to float32.*",
        ".*LeafSpec.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


def serve_sigint() -> None:
    """Take SIGINT as Python does in a terminal (KeyboardInterrupt), even when this process
    was started with it ignored.

    A command started in the background by a script (``cmd &`` in a non-interactive shell,
    ``nohup``) inherits SIGINT ignored, and Python then installs no handler for it: a fit
    would train on through the Ctrl-C / SIGINT that should save ``last.ckpt`` and stop it,
    and a multifit would go on to its next seed.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``offpcc-pl`` and ``python -m offpcc_pl``."""
    serve_sigint()
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in EXTRA_COMMANDS:
        sys.exit(EXTRA_COMMANDS[args[0]](args[1:]))
    if not args or args[0] in ("-h", "--help"):
        print(f"offpcc-pl subcommands: fit, validate, test, {', '.join(EXTRA_COMMANDS)}\n")
    _quiet_known_warnings()
    try:
        from offpcc_pl.lightning_cli import OffpccCLI

        check_config_files(args)
        check_model_flags(args)
        OffpccCLI(args=argv)  # None: LightningCLI reads sys.argv itself
    except Interrupted as err:
        print(f"offpcc-pl: interrupted by {err}", file=sys.stderr)
        sys.exit(128 + err.signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    except TrainingDiverged as err:
        print(f"offpcc-pl: training diverged: {err}", file=sys.stderr)
        sys.exit(1)
    except CheckpointWriteFailed as err:
        print(f"offpcc-pl: error: {err}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:
        message = _user_error(err)
        if message is None:
            raise
        print(f"offpcc-pl: error: {message}", file=sys.stderr)
        sys.exit(2)


def _user_error(err: Exception) -> str | None:
    """The one line for a bad input behind ``err``, or None for a real failure."""
    config_error = _config_error(err)
    if config_error is not None:
        return _one_line(config_error)
    if err.__class__.__name__ == "MisconfigurationException":  # Lightning's, at build
        return _one_line(err)
    if err.__class__.__name__ in ("ArgumentError", "ParserError"):
        return parser_message(str(err), _init_options)
    refused = find_cause(err, wandb_refusal)
    if refused is not None:
        return _one_line(
            f"W&B refused the run ({refused}); log in again (`wandb login`), or train offline "
            "with WANDB_MODE=offline or without W&B with --trainer.logger false"
        )
    return None


EXTRA_COMMANDS = {
    # imported on first use: `offpcc-pl fit` never imports ray, matplotlib or imageio
    "envs": lazy_command("envs"),
    "evaluate": lazy_command("evaluate"),
    "render": lazy_command("render"),
    "record": lazy_command("record"),
    "export": lazy_command("export"),
    "plot": lazy_command("plot"),
    "multifit": lazy_command("multifit"),
}
