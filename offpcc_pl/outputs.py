"""Where the commands write, checked before any work: a run directory that already holds a
run, an output path of the wrong kind, a file that would be replaced.

Every check raises a one-line :class:`~offpcc_pl.errors.ConfigError` naming the path and
the way out. Light on purpose (pathlib only): the policy commands and ``multifit`` call it
before they import torch or Lightning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from offpcc_pl.errors import ConfigError

# The names a run directory's contents get from checkpointing.savers.run_checkpoints, the
# PolicyExport callback and the CSV logger (tests/test_safety.py holds them equal).
LAST_CKPT = "last.ckpt"
BEST_CKPT = "best.ckpt"
POLICY_DIR = "policy"
CSV_DIR = "csv"
# Suffixes that name a file: a directory output given one of them is a mistake.
FILE_SUFFIXES = frozenset(
    {".mp4", ".gif", ".avi", ".mov", ".mkv", ".webm"}  # videos
    | {".png", ".jpg", ".jpeg", ".svg", ".pdf", ".eps", ".tif", ".tiff", ".webp"}  # figures
    | {".json", ".yaml", ".yml", ".csv", ".txt", ".log", ".ckpt", ".pth", ".pt", ".npz", ".zip"}
)
OVERWRITE_HINT = "choose another path, or pass --overwrite to replace it"


def run_contents(run_dir: str | Path) -> list[str]:
    """What makes ``run_dir`` a run (checkpoints, exported policy, CSV versions), by name;
    empty for a directory that does not exist or holds none of them."""
    root = Path(run_dir)
    found = [name for name in (LAST_CKPT, BEST_CKPT) if (root / name).exists()]
    if (root / POLICY_DIR).exists():
        found.append(f"{POLICY_DIR}/")
    versions = sorted(
        (p for p in (root / CSV_DIR).glob("version_*") if p.is_dir()),
        key=lambda p: int(m.group(1)) if (m := re.fullmatch(r"version_(\d+)", p.name)) else -1,
    )
    return found + [f"{CSV_DIR}/{p.name}" for p in versions]


def not_there_yet(paths: Iterable[Path]) -> list[Path]:
    """``paths`` and their ancestors that do not exist yet, deepest first."""
    missing: list[Path] = []
    for path in paths:
        for directory in (path, *path.parents):
            if directory.exists():
                break
            if directory not in missing:
                missing.append(directory)
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def remove_empty(directories: Iterable[Path]) -> None:
    """Remove those of ``directories`` (deepest first) that exist and are empty."""
    for directory in directories:
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _file_above(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a directory, if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_output_dir(path: str | Path, option: str) -> Path:
    """``path`` can be a directory: it is one or does not exist yet, and its name does not
    end in a file suffix (``--out video.mp4`` for a directory of videos)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} '{path}' is a file; it takes a directory")
    if (blocker := _file_above(out)) is not None:
        raise ConfigError(f"{option} '{path}': '{blocker}' is a file, not a directory")
    if not out.exists() and out.suffix.lower() in FILE_SUFFIXES:
        raise ConfigError(
            f"{option} '{path}' names a {out.suffix} file; it takes a directory "
            f"(e.g. {option} {out.with_suffix('')})"
        )
    return out


def check_output_file(
    path: str | Path,
    option: str,
    overwrite: bool,
    example: str,
    suffixes: Iterable[str] | None = None,
) -> Path:
    """``path`` can be written as a file: not a directory, under no file, with one of
    ``suffixes`` (when given), and not there yet unless ``overwrite``.

    Args:
        path: the file the command would write.
        option: the flag that named it, for the message.
        overwrite: replacing an existing file was asked for (``--overwrite``).
        example: a file name to suggest (``curves.png``).
        suffixes: the allowed suffixes, lower case with the dot; None allows any.
    """
    out = Path(path)
    if out.is_dir():
        raise ConfigError(
            f"{option} '{path}' is a directory; it takes a file name "
            f"(e.g. {option} {out / example})"
        )
    if (blocker := _file_above(out)) is not None:
        raise ConfigError(f"{option} '{path}': '{blocker}' is a file, not a directory")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise ConfigError(
            f"{option} '{path}' does not end in a file type it can write; end it in one of "
            f"{', '.join(sorted(suffixes))} (e.g. {option} {out.parent / example})"
        )
    if out.exists() and not overwrite:
        raise ConfigError(f"{option} '{path}' exists; {OVERWRITE_HINT}")
    return out


def check_new_files(directory: Path, names: Iterable[str], option: str, overwrite: bool) -> None:
    """None of ``names`` exists in ``directory`` yet, unless ``overwrite``."""
    there = [name for name in names if (directory / name).exists()]
    if there and not overwrite:
        raise ConfigError(
            f"{option} '{directory}' already holds {', '.join(there)}; {OVERWRITE_HINT}"
        )
