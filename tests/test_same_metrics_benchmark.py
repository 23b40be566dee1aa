"""benchmarks/same_metrics.py: the comparison of two runs' metrics.csv, column by column,
and its one-line refusals of bad directories. The training half is the public CLI that
tests/test_cli.py covers; here the runs are small hand-written metrics.csv files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "same_metrics.py"
HEADER = "alpha,loss/critic,step,time/env_steps,time/hours,test/episode_return"
ROWS = [
    ",,1000,1000,0.001,-1409.7",
    "0.86,2.96,2000,2000,0.004,",
    ",,2000,2000,,-1607.0",
]


def write_runs(root: Path, rows: list[str], header: str = HEADER) -> Path:
    for name in ("pendulum-p", "sac_pendulum"):
        path = root / name / "csv" / "version_0" / "metrics.csv"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join([header, *rows]) + "\n")
    return root


def run_script(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def compare(reference: Path, current: Path) -> subprocess.CompletedProcess:
    return run_script("--against", str(reference), "--out", str(current), "--compare_only")


def test_identical_runs_pass_and_wall_clock_columns_are_ignored(tmp_path: Path) -> None:
    reference = write_runs(tmp_path / "ref", ROWS)
    other_clock = [row.replace("0.004", "0.009") for row in ROWS]
    result = compare(reference, write_runs(tmp_path / "now", other_clock))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pendulum-p loss/critic: identical (1 values)" in result.stdout
    assert "sac_pendulum test/episode_return: identical (2 values)" in result.stdout
    assert "time/hours" not in result.stdout
    assert result.stdout.splitlines()[-1] == "identical"


def test_a_changed_last_digit_is_named_with_its_rows(tmp_path: Path) -> None:
    reference = write_runs(tmp_path / "ref", ROWS)
    changed = [*ROWS[:2], ",,2000,2000,,-1607.1"]
    result = compare(reference, write_runs(tmp_path / "now", changed))
    assert result.returncode == 1
    assert (
        "pendulum-p test/episode_return: DIFFERS at value 2 "
        "(reference row 3: -1607.0, current row 3: -1607.1)"
    ) in result.stdout
    assert "pendulum-p loss/critic: identical (1 values)" in result.stdout


def test_a_missing_column_or_value_differs(tmp_path: Path) -> None:
    reference = write_runs(tmp_path / "ref", ROWS)
    header = HEADER.replace("alpha,", "")
    rows = [row.split(",", 1)[1] for row in ROWS[:2]]
    result = compare(reference, write_runs(tmp_path / "now", rows, header))
    assert result.returncode == 1
    assert "pendulum-p alpha: DIFFERS, missing from the current run" in result.stdout
    assert (
        "pendulum-p test/episode_return: DIFFERS in length (2 values in the reference, 1 now"
        in result.stdout
    )


def test_bad_directories_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    reference = write_runs(tmp_path / "ref", ROWS)
    cases = [
        (("--against", str(empty), "--out", str(out)), "--against"),
        (("--against", str(reference)), "--out"),
        (("--against", str(reference), "--out", str(empty), "--compare_only"), "--out"),
        (("--save", str(reference)), "not an empty directory"),
    ]
    for args, named in cases:
        result = run_script(*args)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr
        assert "Traceback" not in result.stderr and not out.exists()
