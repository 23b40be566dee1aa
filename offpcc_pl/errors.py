"""User-facing errors: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# The algorithm classes, by the short names `--model` accepts (offpcc_pl.algorithms).
ALGORITHM_NAMES = ("DDPG", "TD3", "SAC", "RDPG", "RTD3", "RSAC")


class ConfigError(ValueError):
    """A bad input (id, option, value, file) that the user can fix."""


class CheckpointError(ConfigError):
    """A checkpoint that can't be used here: corrupt, unexpected content, or another run's."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


class CheckpointWriteFailed(RuntimeError):
    """Writing a checkpoint failed (disk full, ...); the previous file is left intact."""


class Interrupted(Exception):
    """SIGINT / SIGTERM during fit: ``last.ckpt`` was saved, the process exits 128 + signum."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def close_matches(value: str, allowed: Iterable[str], n: int = 3) -> str:
    """``" (did you mean: a, b?)"`` for the closest allowed values, or ``""``."""
    matches = difflib.get_close_matches(value, list(allowed), n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""
