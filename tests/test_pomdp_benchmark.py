"""benchmarks/pomdp.py end to end on a tiny budget: one task, its three agents, the table,
the figure, and a re-run that resumes (here: finds every run finished) instead of retraining."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "pomdp.py"


def run_benchmark(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--tasks",
        "pendulum-p",
        "--seeds",
        "1",
        "--jobs",  # the three agents' runs side by side, as the README's command does
        "2",
        "--steps",
        "300",
        "--epoch_steps",
        "150",
        "--out",
        str(tmp_path / "runs"),
        "--table",
        str(tmp_path / "pomdp.md"),
        "--png",
        str(tmp_path / "pomdp.png"),
        *extra,
        "--",
        "--model.update_after",
        "100",
        "--model.eval_episodes",
        "1",
    ]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def table_row(table: str, task: str) -> list[str]:
    row = next(line for line in table.splitlines() if line.startswith(f"| {task}"))
    return [cell.strip() for cell in row.strip("|").split("|")]


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("pomdp")
    result = run_benchmark(tmp_path, "--progress_every", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "stdout.txt").write_text(result.stdout)
    return tmp_path


def test_trains_three_agents_and_writes_table_and_figure(tiny_suite: Path) -> None:
    runs = tiny_suite / "runs"
    for run_dir in (
        runs / "pendulum-p" / "rsac" / "seed0",
        runs / "sac" / "pendulum-p-v0" / "seed0",
        runs / "sac" / "pendulum-v0" / "seed0",
    ):
        assert (run_dir / "last.ckpt").is_file(), run_dir
    table = (tiny_suite / "pomdp.md").read_text()
    task, ids, steps, rsac, partial, full, gap, minutes = table_row(table, "pendulum-p")
    assert ids == "`pendulum-p-v0` / `pendulum-v0`"
    assert steps == "300 (100k)"
    for cell in (rsac, partial, full):
        mean = float(cell.split()[0])
        assert -2000.0 < mean <= 0.0 and cell.endswith("(1)")  # pendulum returns, one seed
    float(gap)  # a number: all three references finished
    for wall_cpu in minutes.split(" / "):  # "wall (cpu)" minutes per run
        wall, cpu = re.fullmatch(r"(\d+) \((\d+)\)", wall_cpu).groups()
        assert int(wall) >= 0 and int(cpu) >= 0
    assert "Machine:" in table
    assert table_row(table, "bumps")[3] == "not run"  # the table covers the whole suite
    assert (tiny_suite / "pomdp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_run_reports_its_evaluations_while_it_trains(tiny_suite: Path) -> None:
    """A run's fit prints nothing; the benchmark prints each new evaluation once, and the
    last one (the budget) for every run."""
    out = (tiny_suite / "stdout.txt").read_text()
    for run in ("pendulum-p/rsac", "pendulum-p/sac-partial", "pendulum-p/sac-full"):
        lines = [line for line in out.splitlines() if line.startswith(f"[pomdp] {run} seed0: ")]
        steps = [int(re.search(r"seed0: (\d+) / 300 env steps", line)[1]) for line in lines]
        assert steps and steps[-1] == 300 and steps == sorted(set(steps)), out
        assert all(re.search(r"test/episode_return -?\d", line) for line in lines), out


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--jobs", "0"], "--jobs must be >= 1, got 0"),
        (["--progress_every", "0"], "--progress_every must be > 0 seconds, got 0.0"),
        (["--progress_every", "nan"], "--progress_every must be > 0 seconds, got nan"),
    ],
)
def test_bad_options_are_one_line_exit_2(tmp_path: Path, bad: list[str], message: str) -> None:
    result = run_benchmark(tmp_path, *bad)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


def test_rerun_resumes_and_shares_the_full_state_run(tiny_suite: Path) -> None:
    log = tiny_suite / "runs" / "pendulum-p" / "rsac" / "multifit.log"
    before = log.read_text()
    result = run_benchmark(tiny_suite)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text() == before  # finished runs are not trained again
    # pendulum-v has the same full-state twin: its table row reuses pendulum-p's SAC run.
    result = run_benchmark(tiny_suite, "--report_only", "--tasks", "pendulum-p", "pendulum-v")
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tiny_suite / "pomdp.md").read_text()
    pendulum_p, pendulum_v = table_row(table, "pendulum-p"), table_row(table, "pendulum-v")
    assert pendulum_v[3:5] == ["not run", "not run"]
    assert pendulum_v[5] == pendulum_p[5] != "not run"


def test_report_only_marks_missing_runs_not_run(tmp_path: Path) -> None:
    result = run_benchmark(tmp_path, "--report_only", "--tasks", "bumps")
    assert result.returncode == 0, result.stdout + result.stderr
    row = table_row((tmp_path / "pomdp.md").read_text(), "bumps")
    assert row[3:6] == ["not run", "not run", "none"]  # no full-state version of bumps


def test_records_rebuild_the_table_without_the_run_dirs(tiny_suite: Path, tmp_path: Path) -> None:
    """A fresh clone has the table's records (``pomdp.json``) but not the git-ignored runs."""
    (tmp_path / "pomdp.json").write_text((tiny_suite / "pomdp.json").read_text())
    result = run_benchmark(tmp_path, "--report_only")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "runs").exists()
    rebuilt = table_row((tmp_path / "pomdp.md").read_text(), "pendulum-p")
    assert rebuilt == table_row((tiny_suite / "pomdp.md").read_text(), "pendulum-p")
    assert rebuilt[3] != "not run"


def test_a_task_without_records_keeps_its_previous_row_marked(tmp_path: Path) -> None:
    bumps = (
        "| bumps (success rate) | `pbc-bumps-normal-pomdp-v0` | 100k (1000k) | 0.78 ± 0.17 (3) "
        "| 0.12 (1) | none | 2/3 seeds reached 0.9 | 61 (45) / 34 (30) / - |"
    )
    never = "| pendulum-v | `pendulum-va-v0` / `pendulum-v0` | 40k (100k) | not run | not run "
    (tmp_path / "pomdp.md").write_text(f"{bumps}\n{never}| not run | - | - / - / - |\n")
    result = run_benchmark(tmp_path, "--report_only")
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tmp_path / "pomdp.md").read_text()
    row = table_row(table, "bumps")
    assert row[0] == "bumps (success rate) †" and row[3:5] == ["0.78 ± 0.17 (3)", "0.12 (1)"]
    assert "† Kept from the previous table" in table
    assert table_row(table, "pendulum-v")[3] == "not run"  # a row without a result is not kept
    assert table_row(table, "pendulum-p")[0] == "pendulum-p"  # never run: a fresh row


def test_a_partly_rerun_task_keeps_its_previous_row(tiny_suite: Path, tmp_path: Path) -> None:
    """pendulum-v's full-state run is pendulum-p's, finished; its own two are not run yet."""
    (tmp_path / "pomdp.json").write_text((tiny_suite / "pomdp.json").read_text())
    previous = (
        "| pendulum-v | `pendulum-va-v0` / `pendulum-v0` | 300 (100k) | -168 ± 13 (2) "
        "| -1498 (1) | -109 (1) | 0.96 | 32 (16) / 12 (10) / 24 |"
    )
    (tmp_path / "pomdp.md").write_text(previous + "\n")
    result = run_benchmark(tmp_path, "--report_only")
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tmp_path / "pomdp.md").read_text()
    assert table_row(table, "pendulum-v")[0] == "pendulum-v †"
    assert table_row(table, "pendulum-v")[3:6] == ["-168 ± 13 (2)", "-1498 (1)", "-109 (1)"]
    assert table_row(table, "pendulum-p")[0] == "pendulum-p"  # all three finished: measured
