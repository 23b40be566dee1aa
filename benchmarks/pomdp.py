"""POMDP benchmark: does memory pay off on the paper's partially observable tasks?

    python benchmarks/pomdp.py --jobs 2                        # the whole suite, in table order
    python benchmarks/pomdp.py --tasks pendulum-p bumps --jobs 2
    python benchmarks/pomdp.py --report_only                   # rebuild table and figure
    python benchmarks/pomdp.py --ray --jobs 4                  # trials on Ray Tune

For each task it trains three agents through ``offpcc-pl multifit`` (one ``offpcc-pl fit``
per seed, no second training loop):

- ``rsac``: recurrent SAC with the task's fast config ``configs/pomdp/<task>.yaml``;
- ``sac-partial``: feed-forward SAC on the same partial observation (the lower reference);
- ``sac-full``: feed-forward SAC on the full state (the upper reference; bump tasks have none).

All three get the RSAC config's env-step budget. Run dirs are ``<out>/<task>/<agent>/seed<k>``;
re-running the command resumes unfinished runs from their ``last.ckpt`` and skips finished
ones, so the suite can be stopped at any time. The Markdown table (``--table``) gives the
final test return (test success rate for the bump tasks), mean ± std over seeds, the share
of the partial-to-full gap that RSAC closes, the wall time per run and the machine; tasks
never run say "not run". The figure (``--png``) has one panel per task, mean ± std against env
steps. Wall time per run is read from the run's files (config.yaml is written when a fit
starts, metrics.csv last when it stops), summed over resumes.

Run dirs sit in the git-ignored ``checkpoints/``; the table and figure are built from records of
them (curves and minutes, a few kB) in ``<table>.json`` beside the table, so a fresh clone
rebuilds both with ``--report_only``. A task with no record keeps its row of the previous
table, marked †.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from offpcc_pl.commands.plot import aggregate
from offpcc_pl.commands.runs import Curve, read_metric, version_files

REPO = Path(__file__).resolve().parent.parent
AGENTS = ("rsac", "sac-partial", "sac-full")
RETURN = "test/episode_return"
SUCCESS = "test/success_rate"
SUCCESS_GOAL = 0.9  # near-optimal on the bump tasks


@dataclass(frozen=True)
class Task:
    """One row group of the table: a partially observable id and its full-state twin."""

    name: str
    partial_id: str
    full_id: str | None  # None: no full-state version (the bump tasks)
    paper_budget: int  # env steps of the paper's runs
    sac_config: str  # feed-forward SAC settings for the two references
    success: bool = False  # report the test success rate instead of the return
    rsac_seeds: int = 2
    rsac_config: str | None = None  # default: configs/pomdp/<name>.yaml

    @property
    def config(self) -> str:
        return self.rsac_config or f"configs/pomdp/{self.name}.yaml"

    def env_id(self, agent: str) -> str | None:
        return self.full_id if agent == "sac-full" else self.partial_id


SAC_PENDULUM = "configs/sac_pendulum.yaml"
SAC_POMDP = "configs/pomdp/sac.yaml"
SAC_BUMPS = "configs/pomdp/sac_bumps.yaml"
TASKS = {
    t.name: t
    for t in (
        Task("pendulum-p", "pendulum-p-v0", "pendulum-v0", 100_000, SAC_PENDULUM, rsac_seeds=3),
        Task("pendulum-v", "pendulum-va-v0", "pendulum-v0", 100_000, SAC_PENDULUM),
        Task(
            "cartpole-balance-p",
            "dmc-cartpole-balance-p-v0",
            "dmc-cartpole-balance-v0",
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-balance-v",
            "dmc-cartpole-balance-va-v0",
            "dmc-cartpole-balance-v0",
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-swingup-p",
            "dmc-cartpole-swingup-p-v0",
            "dmc-cartpole-swingup-v0",
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-swingup-v",
            "dmc-cartpole-swingup-va-v0",
            "dmc-cartpole-swingup-v0",
            200_000,
            SAC_POMDP,
        ),
        Task("reacher-pomdp", "reacher-pomdp-v0", "reacher-mdp-v0", 200_000, SAC_POMDP),
        Task(
            "watermaze",
            "water-maze-simple-pomdp-v0",
            "water-maze-simple-mdp-v0",
            500_000,
            SAC_POMDP,
        ),
        Task(
            "push-r-bump",
            "pbc-bumps-normal-test-v0",
            None,
            500_000,
            SAC_BUMPS,
            success=True,
            rsac_seeds=3,
        ),
        Task(
            "bumps",
            "pbc-bumps-normal-pomdp-v0",
            None,
            1_000_000,
            SAC_BUMPS,
            success=True,
            rsac_seeds=3,
            rsac_config="configs/rsac_bumps_fast.yaml",
        ),
    )
}


def budget(task: Task, args: argparse.Namespace) -> tuple[int, int]:
    """``(epochs, env steps per epoch)``: the task's RSAC config, unless ``--steps`` and
    ``--epoch_steps`` say otherwise."""
    trainer = (yaml.safe_load((REPO / task.config).read_text()) or {}).get("trainer") or {}
    per_epoch = args.epoch_steps or int(trainer.get("limit_train_batches", 1000))
    steps = args.steps or int(trainer.get("max_epochs", 1)) * per_epoch
    return max(1, steps // per_epoch), per_epoch


def agent_root(out: Path, task: Task, agent: str) -> Path:
    """``<out>/<task>/rsac``, and ``<out>/sac/<env id>`` for SAC: tasks that share an env id
    (pendulum-p and pendulum-v share the full-state pendulum) share its SAC runs; a task with
    a larger budget continues them from their checkpoints."""
    return out / task.name / agent if agent == "rsac" else out / "sac" / str(task.env_id(agent))


def total_steps(task: Task, args: argparse.Namespace) -> int:
    epochs, per_epoch = budget(task, args)
    return epochs * per_epoch


# -- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One multifit call: an agent of a task over some seeds."""

    task: Task
    agent: str
    seeds: tuple[int, ...]

    def root(self, out: Path) -> Path:
        return agent_root(out, self.task, self.agent)


def plan(args: argparse.Namespace) -> list[Job]:
    jobs = []
    for name in args.tasks:
        task = TASKS[name]
        for agent in args.agents:
            if task.env_id(agent) is None:
                continue
            count = args.seeds or (task.rsac_seeds if agent == "rsac" else args.baseline_seeds)
            jobs.append(Job(task, agent, tuple(range(count))))
    return jobs


def say(line: str) -> None:
    """One line in one write: the ``--jobs`` threads print side by side."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def steps_done(run_dir: Path) -> int:
    curve = read_metric(run_dir, RETURN)
    return 0 if curve is None else int(curve.x[-1])


def multifit_command(job: Job, seeds: tuple[int, ...], args: argparse.Namespace) -> list[str]:
    epochs, per_epoch = budget(job.task, args)
    config = job.task.config if job.agent == "rsac" else job.task.sac_config
    cmd = [sys.executable, "-m", "offpcc_pl", "multifit", "--seeds", *map(str, seeds)]
    if args.ray:
        cmd += ["--ray", "--max_concurrent", str(args.jobs)]
    cmd += ["--", "--config", config, "--model.env_id", job.task.env_id(job.agent)]
    cmd += ["--trainer.max_epochs", str(epochs), "--trainer.limit_train_batches", str(per_epoch)]
    cmd += ["--trainer.default_root_dir", str(job.root(args.out))]
    cmd += ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    return cmd + args.fit_args


def run_job(job: Job, seeds: tuple[int, ...], args: argparse.Namespace) -> int:
    """Train the seeds of ``job`` that have not reached the budget; the multifit exit code."""
    root = job.root(args.out)
    done = {seed: steps_done(root / f"seed{seed}") for seed in seeds}
    todo = tuple(seed for seed in seeds if done[seed] < total_steps(job.task, args))
    if not todo:
        return 0
    root.mkdir(parents=True, exist_ok=True)
    versions_before = set(version_files(root / f"seed{todo[0]}"))
    label = f"{job.task.name}/{job.agent} seeds {' '.join(map(str, todo))}"
    say(f"[pomdp] {label}: training")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    seen = {seed: done[seed] for seed in todo}  # env steps of the last evaluation printed
    with open(root / "multifit.log", "a") as log:
        proc = subprocess.Popen(
            multifit_command(job, todo, args), cwd=REPO, env=env, stdout=log, stderr=log
        )
        next_report = time.monotonic() + args.progress_every
        while True:  # usage: the fits' CPU time too, counted once the process is reaped
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(min(1.0, args.progress_every))  # notice the end within a second
            if time.monotonic() >= next_report:
                report_progress(job, seen, args)
                next_report = time.monotonic() + args.progress_every
        proc.returncode = code = os.waitstatus_to_exitcode(status)
    report_progress(job, seen, args)
    if len(todo) == 1:  # one fit process: its CPU time is the run's (Ray: not recorded)
        minutes = (usage.ru_utime + usage.ru_stime) / 60
        record_cpu_minutes(root / f"seed{todo[0]}", versions_before, minutes)
    say(f"[pomdp] {label}: exit {code} (log: {root / 'multifit.log'})")
    return code


def report_progress(job: Job, seen: dict[int, int], args: argparse.Namespace) -> None:
    """Print each seed's newest evaluation once (``seen``: the env steps last printed): a run
    can take an hour, and its fit writes nothing to the terminal."""
    total = total_steps(job.task, args)
    metric = SUCCESS if job.task.success else RETURN
    for seed, printed in seen.items():
        curve = read_metric(job.root(args.out) / f"seed{seed}", metric)
        if curve is None or curve.x[-1] <= printed:
            continue
        seen[seed] = steps = int(curve.x[-1])
        line = f"[pomdp] {job.task.name}/{job.agent} seed{seed}: {steps:,} / {total:,} env steps"
        say(f"{line}, {metric} {curve.y[-1]:.3g}")


def run_all(jobs: list[Job], args: argparse.Namespace) -> None:
    """In table order; ``--jobs`` runs side by side (one fit per seed, or Ray within a job)."""
    units: dict[tuple[Path, int], Job] = {}  # tasks sharing a SAC run: the larger budget
    for job in jobs:
        for seed in job.seeds:
            key = (job.root(args.out), seed)
            if key not in units or total_steps(job.task, args) > total_steps(units[key].task, args):
                units[key] = job
    if args.ray:  # one multifit per job, its seeds in parallel on Ray
        seeds: dict[Job, list[int]] = defaultdict(list)
        for (_, seed), job in units.items():
            seeds[job].append(seed)
        for job, job_seeds in seeds.items():
            run_job(job, tuple(job_seeds), args)
        return
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda item: run_job(item[1], (item[0][1],), args), units.items()))


# -- reporting ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """An agent of a task, over its finished seeds."""

    curves: list[Curve]
    finals: list[float]  # test value at the task's budget
    minutes: list[float]  # wall time per run
    cpu: list[float]  # CPU time per run (nan: not recorded)

    @property
    def mean(self) -> float:
        return float(np.mean(self.finals)) if self.finals else math.nan


CPU_FILE = "cpu_minutes.txt"  # in each csv/version_* dir that pomdp.py's fits wrote


def record_cpu_minutes(run_dir: Path, before: set[Path], minutes: float) -> None:
    """Write the CPU time of one multifit call into the CSV versions its fits created (all of
    it into the newest, 0 into any retried one), so a run's versions sum to its cost."""
    new = [path.parent for path in version_files(run_dir) if path not in before]
    for i, version in enumerate(new):
        (version / CPU_FILE).write_text(f"{minutes if i == len(new) - 1 else 0.0:.3f}\n")


def cpu_minutes(run_dir: Path) -> float:
    """A run's CPU time summed over its fits; nan when a fit was not timed (run elsewhere)."""
    files = [path.with_name(CPU_FILE) for path in version_files(run_dir)]
    if not files or not all(f.is_file() for f in files):
        return math.nan
    return sum(float(f.read_text()) for f in files)


def wall_minutes(run_dir: Path) -> float:
    """Wall time of a run, summed over its fits (from config.yaml to the last metrics.csv)."""
    seconds = 0.0
    for metrics in version_files(run_dir):
        start = metrics.with_name("config.yaml")
        if start.is_file():
            seconds += metrics.stat().st_mtime - start.stat().st_mtime
    return seconds / 60


# -- run records -------------------------------------------------------------------------------
# Run dirs live under the git-ignored checkpoints/; the table is built from small records of
# them kept beside it (``<table>.json``, committed with the table), so a fresh clone rebuilds
# the same table and figure, and a later run adds to them instead of starting over.


def run_keys(out: Path) -> list[str]:
    """Run dirs under ``out`` as record keys (``bumps/rsac/seed0``, ``sac/<env id>/seed0``)."""
    roots = {agent_root(out, t, a) for t in TASKS.values() for a in AGENTS if t.env_id(a)}
    dirs = [run_dir for root in roots for run_dir in root.glob("seed*") if run_dir.is_dir()]
    return sorted(run_dir.relative_to(out).as_posix() for run_dir in dirs)


def summarize(run_dir: Path) -> dict | None:
    """A run's record: its test curves, wall and CPU minutes; None before its first test."""
    record: dict = {}
    for metric in (RETURN, SUCCESS):
        curve = read_metric(run_dir, metric)
        if curve is not None:
            record[metric] = [[int(x) for x in curve.x], [round(float(y), 4) for y in curve.y]]
    if not record:
        return None
    cpu = cpu_minutes(run_dir)
    record["wall_minutes"] = round(wall_minutes(run_dir), 2)
    record["cpu_minutes"] = None if math.isnan(cpu) else round(cpu, 2)
    return record


def update_records(path: Path, out: Path) -> dict[str, dict]:
    """The records in ``path``, refreshed from the run dirs under ``out`` and written back."""
    records = json.loads(path.read_text()) if path.is_file() else {}
    for key in run_keys(out):
        record = summarize(out / key)
        if record is not None:
            records[key] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=0, sort_keys=True) + "\n")
    return records


def collect(task: Task, agent: str, records: dict[str, dict], prefix: str, steps: int) -> Cell:
    """The finished runs of ``agent`` on ``task`` (records ``<prefix>/seed*``), cut at ``steps``."""
    metric = SUCCESS if task.success else RETURN
    curves, finals, minutes, cpu = [], [], [], []
    for key in sorted(k for k in records if k.rsplit("/", 1)[0] == prefix):
        record = records[key]
        if metric not in record or record[metric][0][-1] < steps:
            continue  # not finished: left out of the table until it is
        x, y = map(np.asarray, record[metric])
        upto = x <= steps  # a SAC run shared with a longer task goes on beyond
        curves.append(Curve(x[upto], y[upto]))
        finals.append(float(curves[-1].y[-1]))
        minutes.append(record["wall_minutes"])
        cpu.append(math.nan if record["cpu_minutes"] is None else record["cpu_minutes"])
    return Cell(curves, finals, minutes, cpu)


CARRIED = "†"  # marks a row kept from the previous table: no finished re-run of all its agents


def previous_rows(table: Path) -> dict[str, str]:
    """The rows of the table at ``table`` that give a result, by task name: kept for tasks
    this report has no finished run of."""
    if not table.is_file():
        return {}
    rows = {}
    for line in table.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].split(" ", 1)[0]
        if len(cells) == 8 and name in TASKS and set(cells[3:6]) - {"not run", "none"}:
            rows[name] = line
    return rows


def row_digits(cells: dict[str, Cell], success: bool) -> int:
    """Decimals for a row: two for success rates and small returns (reacher: -6.3)."""
    finals = [abs(v) for cell in cells.values() for v in cell.finals]
    return 2 if success or (finals and max(finals) < 100) else 0


def fmt(cell: Cell, digits: int) -> str:
    if not cell.finals:
        return "not run"
    spread = f" ± {np.std(cell.finals):.{digits}f}" if len(cell.finals) > 1 else ""
    return f"{cell.mean:.{digits}f}{spread} ({len(cell.finals)})"


def gap_closed(cells: dict[str, Cell], task: Task) -> str:
    """(RSAC - partial SAC) / (full SAC - partial SAC); bump tasks instead: how many RSAC
    seeds reached a test success of 0.9 within the budget (the goal: all)."""
    rsac, partial = cells["rsac"], cells.get("sac-partial")
    if task.success:
        if not rsac.finals:
            return "-"
        reached = sum(float(np.max(curve.y)) >= SUCCESS_GOAL for curve in rsac.curves)
        return f"{reached}/{len(rsac.curves)} seeds reached {SUCCESS_GOAL}"
    full = cells.get("sac-full")
    if not (rsac.finals and partial and partial.finals and full and full.finals):
        return "-"
    gap = full.mean - partial.mean
    return f"{(rsac.mean - partial.mean) / gap:.2f}" if abs(gap) > 1e-9 else "-"


def fmt_minutes(cell: Cell | None) -> str:
    """Mean wall minutes per run, with mean CPU minutes in brackets where recorded."""
    if cell is None or not cell.finals:
        return "-"
    cpu = [m for m in cell.cpu if not math.isnan(m)]
    return f"{np.mean(cell.minutes):.0f}" + (f" ({np.mean(cpu):.0f})" if cpu else "")


def kilo(steps: int) -> str:
    return f"{steps // 1000}k" if steps % 1000 == 0 else str(steps)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}; one thread per run (OMP_NUM_THREADS=1)"
    )


def report(args: argparse.Namespace) -> dict[str, dict[str, Cell]]:
    records = update_records(args.table.with_suffix(".json"), args.out)
    previous = previous_rows(args.table)
    rows = [
        "| task | env id (partial / full) | env steps (paper) | RSAC | SAC partial | SAC full "
        "| gap closed | wall (CPU) min per run: RSAC / partial / full |",
        "|---|---|---|---|---|---|---|---|",
    ]
    results: dict[str, dict[str, Cell]] = {}
    kept: set[str] = set()  # tasks whose row is kept from the previous table
    for name, task in TASKS.items():  # the whole suite: --tasks picks what to train only
        steps = total_steps(task, args)
        cells = {
            agent: collect(task, agent, records, agent_root(Path(), task, agent).as_posix(), steps)
            for agent in AGENTS
            if task.env_id(agent) is not None
        }
        results[name] = cells
        if name in previous and not all(cell.finals for cell in cells.values()):
            # a re-run replaces the row once every agent has finished
            rows.append(carried(previous[name]))
            kept.add(name)
            continue
        digits = row_digits(cells, task.success)
        scores = [fmt(cells[a], digits) if a in cells else "none" for a in AGENTS]
        minutes = " / ".join(fmt_minutes(cells.get(a)) for a in AGENTS)
        ids = f"`{task.partial_id}`" + (f" / `{task.full_id}`" if task.full_id else "")
        what = " (success rate)" if task.success else ""
        rows.append(
            f"| {task.name}{what} | {ids} | {kilo(steps)} ({kilo(task.paper_budget)}) | "
            + " | ".join(scores)
            + f" | {gap_closed(cells, task)} | {minutes} |"
        )
    footnote = [
        f"{CARRIED} Kept from the previous table: the records of its runs were lost "
        "with an earlier checkout (no panel in the figure). Re-running the task replaces it "
        "once all its agents have finished.",
        "",
    ]
    text = "\n".join(
        [
            "Final test return (test success rate for the bump tasks), mean ± std over seeds "
            "(seed count in brackets), at the env steps given; 'not run' where no run finished. "
            "For the bump tasks the gap column counts the RSAC seeds whose test success "
            f"reached {SUCCESS_GOAL} at some evaluation within the budget. "
            "Wall time counts waiting for a core when other work shared the machine; the CPU "
            "time in brackets is the run's own (one thread), the cost on an idle core.",
            "",
            *rows,
            "",
            *(footnote if kept else []),
            f"Machine: {machine()}.",
            "",
        ]
    )
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(text)
    print(text)
    plot(results, args.png, kept)
    return results


def carried(row: str) -> str:
    """``row`` with its first cell marked as kept from the previous table."""
    _, first, rest = row.split("|", 2)
    if CARRIED not in first:
        first = f"{first.rstrip()} {CARRIED} "
    return f"|{first}|{rest}"


def plot(
    results: dict[str, dict[str, Cell]], out: Path, kept: AbstractSet[str] = frozenset()
) -> None:
    """One panel per task, but none for the rows kept from the previous table (no curves),
    unless every row was kept."""
    import matplotlib

    matplotlib.use("Agg")  # headless, file output only
    import matplotlib.pyplot as plt

    results = {name: cells for name, cells in results.items() if name not in kept} or results
    cols = min(4, len(results))
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    for ax, (name, cells) in zip(axes.flat, results.items()):
        task = TASKS[name]
        for i, (agent, cell) in enumerate(cells.items()):
            if not cell.curves:
                continue
            x, mean, std = aggregate(cell.curves)
            label = f"{agent} ({len(cell.curves)})"
            ax.plot(x, mean, color=f"C{i}", label=label)
            ax.fill_between(x, mean - std, mean + std, color=f"C{i}", alpha=0.2, linewidth=0)
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("env steps")
        ax.set_ylabel("test success rate" if task.success else "test return")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="x-small")
        else:
            blank = "curves not kept" if name in kept else "not run"
            ax.text(0.5, 0.5, blank, ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    print(f"wrote {out}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Arguments after -- go to every offpcc-pl fit (e.g. -- --model.eval_episodes 3).",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=list(TASKS),
        default=list(TASKS),
        help="tasks to train (the table and figure always cover the whole suite)",
    )
    parser.add_argument("--agents", nargs="+", choices=AGENTS, default=list(AGENTS))
    parser.add_argument("--seeds", type=int, help="seeds per agent (default: per task, see Task)")
    parser.add_argument("--baseline_seeds", type=int, default=1, help="seeds of the SAC runs")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--ray", action="store_true", help="run each multifit on Ray Tune")
    parser.add_argument("--steps", type=int, help="env steps per run (default: the config's)")
    parser.add_argument("--epoch_steps", type=int, help="env steps per epoch (default: config)")
    parser.add_argument("--out", type=Path, default=REPO / "checkpoints/benchmarks/pomdp")
    parser.add_argument("--table", type=Path, default=REPO / "docs/pomdp.md")
    parser.add_argument("--png", type=Path, default=REPO / "docs/pomdp.png")
    parser.add_argument("--report_only", action="store_true", help="only rebuild table, figure")
    parser.add_argument(
        "--progress_every", type=float, default=30.0, help="seconds between progress lines"
    )
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.fit_args = argv[split + 1 :]
    args.out = args.out.resolve()
    for name in ("jobs", "baseline_seeds", "seeds", "steps", "epoch_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    if not args.progress_every > 0:  # also refuses nan
        parser.error(f"--progress_every must be > 0 seconds, got {args.progress_every}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.report_only:
        run_all(plan(args), args)
    report(args)


if __name__ == "__main__":
    main()
