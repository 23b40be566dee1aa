"""User-facing errors: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# The algorithm classes, by the short names `--model` accepts (offpcc_pl.algorithms).
ALGORITHM_NAMES = ("DDPG", "TD3", "SAC", "RDPG", "RTD3", "RSAC")


class ConfigError(ValueError):
    """A bad input (id, option, value, file) that the user can fix."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


def close_matches(value: str, allowed: Iterable[str], n: int = 3) -> str:
    """``" (did you mean: a, b?)"`` for the closest allowed values, or ``""``."""
    matches = difflib.get_close_matches(value, list(allowed), n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""
