"""benchmarks/pomdp.py end to end on a tiny budget: one task, its three default agents, their
final-policy evaluations, the table, the figure, and a re-run that resumes (here: finds every
run finished and evaluated) instead of retraining."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_script

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
        "--jobs",  # the agents' runs side by side, as the README's command does
        "2",
        "--steps",
        "300",
        "--epoch_steps",
        "150",
        "--final_episodes",
        "2",
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


SCORE = r"-?\d+(\.\d+)?( ± \d+(\.\d+)?)? \(1\)"  # mean (± std) (seed count)


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("pomdp")
    result = run_benchmark(tmp_path, "--progress_every", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "stdout.txt").write_text(result.stdout)
    return tmp_path


def test_trains_the_agents_evaluates_their_final_policies_and_writes_the_table(
    tiny_suite: Path,
) -> None:
    runs = tiny_suite / "runs"
    for run_dir in (
        runs / "pendulum-p" / "recipe" / "seed0",
        runs / "sac" / "pendulum-p-v0" / "seed0",
        runs / "sac" / "pendulum-v0" / "seed0",
    ):
        assert (run_dir / "last.ckpt").is_file(), run_dir
        final = json.loads((run_dir / "final_eval" / "300.json").read_text())
        assert len(final["episodes"]) == 2 and -2000.0 < final["return_mean"] <= 0.0
    assert not (runs / "pendulum-p" / "rsac").exists()  # the tuned config: only when named
    table = (tiny_suite / "pomdp.md").read_text()
    task, ids, steps, recipe, tuned, partial, full, gap, deviations, minutes = table_row(
        table, "pendulum-p"
    )
    assert ids == "`pendulum-p-v0` / `pendulum-v0`"
    assert steps == "300 (100k)"
    assert tuned == "not run" and deviations == "recipe"
    for cell in (recipe, partial, full):
        final, last3 = cell.split(" / ")
        assert re.fullmatch(SCORE, final) and re.fullmatch(SCORE, last3), cell
    # the final cell is the final evaluation read back from the run's file
    recipe_final = json.loads((runs / "pendulum-p/recipe/seed0/final_eval/300.json").read_text())
    assert float(recipe.split()[0]) == pytest.approx(recipe_final["return_mean"], abs=0.5)
    by_final, by_last3 = re.fullmatch(r"recipe (\S+) / (\S+)", gap).groups()
    float(by_final), float(by_last3)  # numbers: all three agents finished and were evaluated
    records = json.loads((tiny_suite / "pomdp.json").read_text())
    expected_minutes = []  # recipe / tuned (not run) / SAC partial / SAC full: as recorded
    for run in ("pendulum-p/recipe", None, "sac/pendulum-p-v0", "sac/pendulum-v0"):
        if run is None:
            expected_minutes.append("-")
            continue
        steps_logged, hours = records[f"{run}/seed0"]["time/hours"]  # at each evaluation
        assert hours[steps_logged.index(300)] > 0, run
        expected_minutes.append(f"{60 * hours[steps_logged.index(300)]:.0f}")
    assert minutes == " / ".join(expected_minutes)
    assert "Machine:" in table
    assert table_row(table, "bumps")[3] == "not run"  # the table covers the whole suite
    assert (tiny_suite / "pomdp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert records["pendulum-p/recipe/seed0"]["final"]["300"]["episodes"] == 2


def test_each_run_reports_its_evaluations_while_it_trains(tiny_suite: Path) -> None:
    """A run's fit prints nothing; the benchmark prints each new evaluation once, the last
    one (the budget) for every run, and the final policy's evaluation."""
    out = (tiny_suite / "stdout.txt").read_text()
    for run in ("pendulum-p/recipe", "pendulum-p/sac-partial", "pendulum-p/sac-full"):
        lines = [line for line in out.splitlines() if line.startswith(f"[pomdp] {run} seed0: ")]
        steps = [int(m[1]) for line in lines if (m := re.search(r"seed0: (\d+) / 300", line))]
        assert steps and steps[-1] == 300 and steps == sorted(set(steps)), out
        finals = [line for line in lines if "final policy at 300 env steps" in line]
        assert len(finals) == 1 and re.search(r"test/episode_return -?\d", finals[0]), out


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--jobs", "0"], "--jobs must be >= 1, got 0"),
        (["--final_episodes", "0"], "--final_episodes must be >= 1, got 0"),
        (["--progress_every", "0"], "--progress_every must be > 0 seconds, got 0.0"),
        (["--progress_every", "nan"], "--progress_every must be > 0 seconds, got nan"),
    ],
)
def test_bad_options_are_one_line_exit_2(tmp_path: Path, bad: list[str], message: str) -> None:
    result = run_benchmark(tmp_path, *bad)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


def test_rerun_resumes_and_shares_the_full_state_run(tiny_suite: Path) -> None:
    log = tiny_suite / "runs" / "pendulum-p" / "recipe" / "multifit.log"
    final = tiny_suite / "runs" / "pendulum-p" / "recipe" / "seed0" / "final_eval" / "300.json"
    before, evaluated = log.read_text(), final.read_bytes()
    result = run_benchmark(tiny_suite)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text() == before  # finished runs are not trained again
    assert final.read_bytes() == evaluated and "final policy at" not in result.stdout
    # pendulum-v has the same full-state twin: its table row reuses pendulum-p's SAC run.
    result = run_benchmark(tiny_suite, "--report_only", "--tasks", "pendulum-p", "pendulum-v")
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tiny_suite / "pomdp.md").read_text()
    pendulum_p, pendulum_v = table_row(table, "pendulum-p"), table_row(table, "pendulum-v")
    assert pendulum_v[3] == pendulum_v[5] == "not run"
    assert pendulum_v[6] == pendulum_p[6] != "not run"


def test_report_only_marks_missing_runs_not_run(tmp_path: Path) -> None:
    result = run_benchmark(tmp_path, "--report_only", "--tasks", "bumps")
    assert result.returncode == 0, result.stdout + result.stderr
    row = table_row((tmp_path / "pomdp.md").read_text(), "bumps")
    assert row[3:7] == ["not run", "not run", "not run", "none"]  # bumps has no full state
    assert "gamma=0.95" in row[8]  # the recipe's declared deviations for the bump tasks


def test_records_rebuild_the_table_without_the_run_dirs(tiny_suite: Path, tmp_path: Path) -> None:
    """A fresh clone has the table's records (``pomdp.json``) but not the git-ignored runs."""
    (tmp_path / "pomdp.json").write_text((tiny_suite / "pomdp.json").read_text())
    # another --final_episodes re-evaluates nothing: the caption gives the recorded count
    result = run_benchmark(tmp_path, "--report_only", "--final_episodes", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "runs").exists()
    assert "final policy over 2 episodes" in (tmp_path / "pomdp.md").read_text()
    rebuilt = table_row((tmp_path / "pomdp.md").read_text(), "pendulum-p")
    assert rebuilt == table_row((tiny_suite / "pomdp.md").read_text(), "pendulum-p")
    assert rebuilt[3] != "not run"


def test_a_task_without_records_keeps_its_earlier_row_marked(tmp_path: Path) -> None:
    header = (
        "| task | env id (partial / full) | env steps (paper) | RSAC | SAC partial | SAC full "
        "| gap closed | wall (CPU) min per run: RSAC / partial / full |"
    )
    bumps = (
        "| bumps (success rate) | `pbc-bumps-normal-pomdp-v0` | 100k (1000k) | 0.78 ± 0.17 (3) "
        "| 0.12 (1) | none | 2/3 seeds reached 0.9 | 61 (45) / 34 (30) / - |"
    )
    never = "| pendulum-v | `pendulum-va-v0` / `pendulum-v0` | 40k (100k) | not run | not run "
    (tmp_path / "pomdp.md").write_text(f"{header}\n{bumps}\n{never}| not run | - | - |\n")
    result = run_benchmark(tmp_path, "--report_only")
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tmp_path / "pomdp.md").read_text()
    kept = table[table.index("† Kept from an earlier table") :]
    assert header in kept
    assert table_row(kept, "bumps")[0] == "bumps (success rate) †"
    assert table_row(kept, "bumps")[3:5] == ["0.78 ± 0.17 (3)", "0.12 (1)"]
    assert "| pendulum-v" not in kept  # a row without a result is not kept
    assert table_row(table, "bumps")[3] == "not run"  # the measured table has every task
    # the kept section survives the next rebuild
    result = run_benchmark(tmp_path, "--report_only")
    assert result.returncode == 0 and (tmp_path / "pomdp.md").read_text() == table


def load_benchmark():
    return load_script(SCRIPT)


def test_a_shared_run_is_scored_and_timed_per_row() -> None:
    """One SAC run shared by a 20k and a 40k row: each row reads its own final evaluation and
    the training minutes up to its own budget."""
    pomdp = load_benchmark()
    steps = [10_000, 20_000, 30_000, 40_000]
    record = {
        pomdp.RETURN: [steps, [-900.0, -500.0, -200.0, -120.0]],
        pomdp.HOURS: [steps, [0.1, 0.2, 0.3, 0.4]],
        "final": {
            "20000": {"return_mean": -480.0, "episodes": 100},
            "40000": {"return_mean": -110.0, "episodes": 100},
        },
        "wall_minutes": 99.0,
        "cpu_minutes": None,
    }
    task = pomdp.TASKS["pendulum-p"]
    short = pomdp.collect(task, "sac-full", {"sac/x/seed0": record}, "sac/x", 20_000)
    long = pomdp.collect(task, "sac-full", {"sac/x/seed0": record}, "sac/x", 40_000)
    assert short.finals == [-480.0] and long.finals == [-110.0]
    assert short.last3 == [pytest.approx(-700.0)] and long.last3 == [pytest.approx(-820 / 3)]
    assert short.minutes == [pytest.approx(12.0)] and long.minutes == [pytest.approx(24.0)]
    unfinished = pomdp.collect(task, "sac-full", {"sac/x/seed0": record}, "sac/x", 50_000)
    assert unfinished.last3 == [] and pomdp.fmt(unfinished, 0) == "not run"


def test_seed_counts_come_from_the_row_unless_given() -> None:
    pomdp = load_benchmark()

    def seeds(*argv: str) -> dict[tuple[str, str], int]:
        jobs = pomdp.plan(pomdp.parse_args(["--tasks", "reacher-pomdp", "push-r-bump", *argv]))
        return {(job.task.name, job.agent): len(job.seeds) for job in jobs}

    assert seeds() == {
        ("reacher-pomdp", "recipe"): 3,
        ("reacher-pomdp", "sac-partial"): 2,  # one full-state seed is not clearly apart
        ("reacher-pomdp", "sac-full"): 2,
        ("push-r-bump", "recipe"): 5,
        ("push-r-bump", "sac-partial"): 1,
    }
    assert set(seeds("--baseline_seeds", "3").values()) == {3, 5}
    assert set(seeds("--seeds", "4").values()) == {4}
