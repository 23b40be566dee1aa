"""Reading the CSV logs of runs: ``<run>/csv/version_*/metrics.csv`` against env steps."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offpcc_pl.monitor import ENV_STEP_KEY

CSV_DIR = "csv"


@dataclass
class Curve:
    """One metric of one run: ``y`` at env steps ``x`` (sorted, unique)."""

    x: np.ndarray
    y: np.ndarray


def _version_number(path: Path) -> int:
    match = re.fullmatch(r"version_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def version_files(run_dir: str | Path) -> list[Path]:
    """``metrics.csv`` of every version of a run, oldest first (a resume adds a version)."""
    versions = sorted(Path(run_dir, CSV_DIR).glob("version_*"), key=_version_number)
    return [v / "metrics.csv" for v in versions if (v / "metrics.csv").is_file()]


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def read_metric(run_dir: str | Path, metric: str) -> Curve | None:
    """``metric`` against ``time/env_steps`` over all versions of a run, or None if absent.

    A resumed run starts a new version from its checkpoint; rows of an older version at or
    beyond the first env step of the next one were redone after the resume and are dropped.
    """
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for path in version_files(run_dir):
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        steps = np.array([_float(r.get(ENV_STEP_KEY)) for r in rows])
        values = np.array([_float(r.get(metric)) for r in rows])
        keep = ~np.isnan(steps)
        parts.append((steps[keep], values[keep]))
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for i, (steps, values) in enumerate(parts):
        later = [s for s, _ in parts[i + 1 :] if len(s)]
        if later:
            cut = steps < later[0].min()
            steps, values = steps[cut], values[cut]
        has_value = ~np.isnan(values)
        xs.append(steps[has_value])
        ys.append(values[has_value])
    if not xs or not sum(len(x) for x in xs):
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    last = np.r_[x[1:] != x[:-1], True]  # several rows at one step: keep the last
    return Curve(x[last], y[last])


def last_value(run_dir: str | Path, metric: str) -> float | None:
    curve = read_metric(run_dir, metric)
    return None if curve is None else float(curve.y[-1])


def find_runs(path: str | Path) -> list[Path]:
    """Run dirs (holding ``csv/version_*``) at or below ``path``, sorted."""
    root = Path(path)
    if (root / CSV_DIR).is_dir():
        return [root]
    return sorted(p.parent for p in root.rglob(CSV_DIR) if p.is_dir() and version_files(p.parent))
