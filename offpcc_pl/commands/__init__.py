"""Subcommands beyond LightningCLI's fit / validate / test.

Each module holds one command as a function ``(args: list[str]) -> int`` (the exit code),
imported lazily by :data:`offpcc_pl.cli.EXTRA_COMMANDS` so that ``offpcc-pl fit`` never
imports ray, matplotlib or imageio.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_command(name: str) -> Callable[[list[str]], int]:
    """``offpcc_pl.commands.<name>.<name>_command``, imported when the command runs."""

    def command(args: list[str]) -> int:
        module = importlib.import_module(f"offpcc_pl.commands.{name}")
        return getattr(module, f"{name}_command")(args)

    command.__name__ = f"{name}_command"
    return command
