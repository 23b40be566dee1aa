"""POMDP benchmark: does memory pay off on the paper's partially observable tasks?

    python benchmarks/pomdp.py --jobs 2                        # the whole suite, in table order
    python benchmarks/pomdp.py --tasks pendulum-p bumps --jobs 2
    python benchmarks/pomdp.py --report_only                   # rebuild table and figure
    python benchmarks/pomdp.py --ray --jobs 4                  # trials on Ray Tune

For each task it trains these agents through ``offpcc-pl multifit`` (one ``offpcc-pl fit``
per seed, no second training loop):

- ``recipe``: recurrent SAC with the general recipe ``configs/pomdp/rsac.yaml``, given the
  task's env id and budget, plus the task's declared deviations (each with its reason);
- ``rsac``: recurrent SAC with the task's own tuned config ``configs/pomdp/<task>.yaml``
  (not trained unless ``--agents`` names it; its earlier records stay in the table);
- ``sac-partial``: feed-forward SAC on the same partial observation (the lower reference);
- ``sac-full``: feed-forward SAC on the full state (the upper reference; bump tasks have none).

Every agent gets the row's env-step budget (``Task.steps``). Run dirs are
``<out>/<task>/<agent>/seed<k>``; re-running the command resumes unfinished runs from their
``last.ckpt`` and skips finished ones, so the suite can be stopped at any time. Each run ends
with one evaluation of its final policy (``last.ckpt``) over ``--final_episodes`` (100)
episodes with fixed seeds, written to ``<run>/final_eval/<env steps>.json``.

The Markdown table (``--table``) gives, per agent, the final-policy evaluation and the mean
of each seed's last three test evaluations (test return; test success rate for the bump
tasks), mean ± std over seeds, the share of the partial-to-full gap that the recipe closes by
both readings, the recipe's deviations, and the training wall time per run up to the row's
env steps. The figure (``--png``) has one panel per task, mean ± std against env steps.

Run dirs sit in the git-ignored ``checkpoints/``; the table and figure are built from records of
them (curves, final evaluations and minutes, a few kB) in ``<table>.json`` beside the table,
so a fresh clone rebuilds both with ``--report_only``. A task with no record at all keeps its
row of the previous table, marked †, below the table.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offpcc_pl.commands.plot import aggregate
from offpcc_pl.commands.runs import Curve, read_metric, version_files

REPO = Path(__file__).resolve().parent.parent
AGENTS = ("recipe", "rsac", "sac-partial", "sac-full")
TRAINED_BY_DEFAULT = ("recipe", "sac-partial", "sac-full")
RECIPE = "configs/pomdp/rsac.yaml"
RETURN = "test/episode_return"
SUCCESS = "test/success_rate"
SUCCESS_GOAL = 0.9  # near-optimal on the bump tasks
LAST = 3  # evaluations averaged per seed for the last-3 reading


@dataclass(frozen=True)
class Task:
    """One row group of the table: a partially observable id and its full-state twin."""

    name: str
    partial_id: str
    full_id: str | None  # None: no full-state version (the bump tasks)
    steps: int  # env steps of every run of the row (a tenth to a fifth of the paper's)
    paper_budget: int  # env steps of the paper's runs
    sac_config: str  # feed-forward SAC settings for the two references
    success: bool = False  # report the test success rate instead of the return
    rsac_seeds: int = 3  # seeds of the recurrent agents
    sac_seeds: int = 1  # seeds of each SAC reference: 2 where one seed is not clearly apart
    rsac_config: str | None = None  # the tuned config; default: configs/pomdp/<name>.yaml
    deviations: tuple[str, ...] = ()  # fit flags added to the recipe for this task
    epoch_steps: int = 1000  # env steps between test evaluations

    @property
    def config(self) -> str:
        return self.rsac_config or f"configs/pomdp/{self.name}.yaml"

    def env_id(self, agent: str) -> str | None:
        return self.full_id if agent == "sac-full" else self.partial_id


SAC_PENDULUM = "configs/sac_pendulum.yaml"
SAC_POMDP = "configs/pomdp/sac.yaml"
SAC_BUMPS = "configs/pomdp/sac_bumps.yaml"
# The bump tasks' sparse reward (+1 for a success, which ends the episode) needs what their
# memoryless reference needs too (configs/pomdp/sac_bumps.yaml and configs/rsac_bumps_fast.yaml
# give the measured reasons): a temperature starting at 0.05, since an entropy bonus of about 1
# a step outweighs the success; 10k warm-up steps, whose random actions give the critic its
# first successes; gamma 0.95, so dithering until the time limit loses its optimistic value
# quickly; 50 test episodes, as a success rate moves in steps of 1/episodes.
BUMPS_DEVIATIONS = (
    "--model.init_alpha=0.05",
    "--model.update_after=10000",
    "--model.gamma=0.95",
    "--model.eval_episodes=50",
    "--model.capacity=2000",
)
TASKS = {
    t.name: t
    for t in (
        Task("pendulum-p", "pendulum-p-v0", "pendulum-v0", 20_000, 100_000, SAC_PENDULUM),
        Task("pendulum-v", "pendulum-va-v0", "pendulum-v0", 40_000, 100_000, SAC_PENDULUM),
        Task(
            "cartpole-balance-p",
            "dmc-cartpole-balance-p-v0",
            "dmc-cartpole-balance-v0",
            20_000,
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-balance-v",
            "dmc-cartpole-balance-va-v0",
            "dmc-cartpole-balance-v0",
            40_000,
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-swingup-p",
            "dmc-cartpole-swingup-p-v0",
            "dmc-cartpole-swingup-v0",
            40_000,
            200_000,
            SAC_POMDP,
        ),
        Task(
            "cartpole-swingup-v",
            "dmc-cartpole-swingup-va-v0",
            "dmc-cartpole-swingup-v0",
            100_000,
            200_000,
            SAC_POMDP,
        ),
        Task(
            "reacher-pomdp",
            "reacher-pomdp-v0",
            "reacher-mdp-v0",
            40_000,
            200_000,
            SAC_POMDP,
            # full-state SAC seeds ended at -6.54 and -5.25, which moves the gap closed by 0.3
            sac_seeds=2,
        ),
        Task(
            "watermaze",
            "water-maze-simple-pomdp-v0",
            "water-maze-simple-mdp-v0",
            100_000,
            500_000,
            SAC_POMDP,
            # memoryless SAC's first seed (35) ended between the recipe's seeds (61, 42, 19)
            sac_seeds=2,
        ),
        Task(
            "push-r-bump",
            "pbc-bumps-normal-test-v0",
            None,
            100_000,
            500_000,
            SAC_BUMPS,
            success=True,
            rsac_seeds=5,  # stalled seeds were seen here
            deviations=BUMPS_DEVIATIONS,
            epoch_steps=5000,  # 50 test episodes each epoch
        ),
        Task(
            "bumps",
            "pbc-bumps-normal-pomdp-v0",
            None,
            # a fifth of the paper's: at 100k two of three seeds were still climbing (0.5 to
            # 0.9 success over their last 25k steps)
            200_000,
            1_000_000,
            SAC_BUMPS,
            success=True,
            rsac_config="configs/rsac_bumps_fast.yaml",
            deviations=BUMPS_DEVIATIONS,
            epoch_steps=5000,
        ),
    )
}


def budget(task: Task, args: argparse.Namespace) -> tuple[int, int]:
    """``(epochs, env steps per epoch)``: the task's, unless ``--steps`` and ``--epoch_steps``
    say otherwise."""
    per_epoch = args.epoch_steps or task.epoch_steps
    return max(1, (args.steps or task.steps) // per_epoch), per_epoch


def agent_root(out: Path, task: Task, agent: str) -> Path:
    """``<out>/<task>/rsac``, and ``<out>/sac/<env id>`` for SAC: tasks that share an env id
    (pendulum-p and pendulum-v share the full-state pendulum) share its SAC runs; a task with
    a larger budget continues them from their checkpoints."""
    if agent in ("recipe", "rsac"):
        return out / task.name / agent
    return out / "sac" / str(task.env_id(agent))


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
            recurrent = agent in ("recipe", "rsac")
            sac_seeds = args.baseline_seeds or task.sac_seeds
            count = args.seeds or (task.rsac_seeds if recurrent else sac_seeds)
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
    config = {"recipe": RECIPE, "rsac": job.task.config}.get(job.agent, job.task.sac_config)
    cmd = [sys.executable, "-m", "offpcc_pl", "multifit", "--seeds", *map(str, seeds)]
    if args.ray:
        cmd += ["--ray", "--max_concurrent", str(args.jobs)]
    cmd += ["--", "--config", config, "--model.env_id", job.task.env_id(job.agent)]
    if job.agent == "recipe":
        cmd += list(job.task.deviations)
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
    """In table order; ``--jobs`` runs side by side (one fit per seed, or Ray within a job).

    Tasks that share a SAC run train it to each budget in turn, smallest first, and evaluate
    its final policy at each: a shorter row is scored by the policy it had at its own budget.
    """
    units: dict[tuple[Path, int], list[Job]] = defaultdict(list)
    for job in jobs:
        for seed in job.seeds:
            units[(job.root(args.out), seed)].append(job)
    stages = {
        key: sorted({total_steps(j.task, args): j for j in unit}.items())
        for key, unit in units.items()
    }  # (budget, job) in increasing budget
    if args.ray:  # one multifit per job and budget, its seeds in parallel on Ray
        by_job: dict[Job, list[int]] = defaultdict(list)
        for (_, seed), unit in stages.items():
            for _, job in unit:
                by_job[job].append(seed)
        for job, seeds in sorted(by_job.items(), key=lambda item: total_steps(item[0].task, args)):
            run_job(job, tuple(seeds), args)
            for seed in seeds:
                final_eval(job, seed, args)
        return

    def run_unit(item: tuple[tuple[Path, int], list[tuple[int, Job]]]) -> None:
        (_, seed), unit = item
        for _, job in unit:
            if run_job(job, (seed,), args) == 0:
                final_eval(job, seed, args)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(run_unit, stages.items()))


FINAL_DIR = "final_eval"  # in each run dir: <env steps>.json, one per budget it was scored at


def final_eval(job: Job, seed: int, args: argparse.Namespace) -> None:
    """Evaluate the run's final policy over ``--final_episodes`` seeded episodes, once per
    budget, while ``last.ckpt`` is at that budget (a run continued beyond it cannot be)."""
    run_dir = job.root(args.out) / f"seed{seed}"
    steps = total_steps(job.task, args)
    target = run_dir / FINAL_DIR / f"{steps}.json"
    if target.is_file() or steps_done(run_dir) != steps or not (run_dir / "last.ckpt").is_file():
        return
    target.parent.mkdir(exist_ok=True)
    partial = target.with_name(f".{steps}.partial.json")  # renamed once complete
    partial.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "offpcc_pl", "evaluate", "--ckpt_path", str(run_dir / "last.ckpt")]
    cmd += ["--episodes", str(args.final_episodes), "--json", str(partial)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    label = f"{job.task.name}/{job.agent} seed{seed}"
    if result.returncode != 0 or not partial.is_file():
        say(f"[pomdp] {label}: final evaluation failed: {result.stderr.strip()[-300:]}")
        return
    partial.rename(target)
    report = json.loads(target.read_text())
    value = report["success_rate"] if job.task.success else report["return_mean"]
    metric = SUCCESS if job.task.success else RETURN
    say(f"[pomdp] {label}: final policy at {steps:,} env steps, {metric} {value:.3g}")


# -- reporting ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """An agent of a task, over its seeds that reached the task's budget."""

    curves: list[Curve]
    last3: list[float]  # per seed: the mean of its last LAST test evaluations
    finals: list[float]  # per seed with one: its final policy's evaluation at the budget
    minutes: list[float]  # per seed: training wall time up to the budget
    episodes: list[int]  # per final evaluation: the episodes it played


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

HOURS = "time/hours"  # training wall time, accumulated over resumes, logged every epoch


def run_keys(out: Path) -> list[str]:
    """Run dirs under ``out`` as record keys (``bumps/rsac/seed0``, ``sac/<env id>/seed0``)."""
    roots = {agent_root(out, t, a) for t in TASKS.values() for a in AGENTS if t.env_id(a)}
    dirs = [run_dir for root in roots for run_dir in root.glob("seed*") if run_dir.is_dir()]
    return sorted(run_dir.relative_to(out).as_posix() for run_dir in dirs)


def summarize(run_dir: Path) -> dict | None:
    """A run's record: its test and time curves, final evaluations, wall and CPU minutes;
    None before its first test."""
    record: dict = {}
    for metric in (RETURN, SUCCESS, HOURS):
        curve = read_metric(run_dir, metric)
        if curve is not None:
            record[metric] = [[int(x) for x in curve.x], [round(float(y), 4) for y in curve.y]]
    if RETURN not in record and SUCCESS not in record:
        return None
    finals = {}
    for path in sorted((run_dir / FINAL_DIR).glob("[0-9]*.json")):
        report = json.loads(path.read_text())
        finals[path.stem] = {
            key: report[key]
            for key in ("return_mean", "return_std", "success_rate")
            if report.get(key) is not None
        } | {"episodes": len(report["episodes"])}
    if finals:
        record["final"] = finals
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


def minutes_at(record: dict, steps: int) -> float:
    """Training wall minutes of a run up to ``steps``: a run shared with a longer row, or
    continued beyond this row's budget, counts only this row's part."""
    if HOURS in record:
        x, y = record[HOURS]
        upto = [hours for step, hours in zip(x, y) if step <= steps]
        if upto:
            return 60 * upto[-1]
    return record["wall_minutes"]  # records written before time/hours was kept


def collect(task: Task, agent: str, records: dict[str, dict], prefix: str, steps: int) -> Cell:
    """The runs of ``agent`` on ``task`` (records ``<prefix>/seed*``) that reached ``steps``."""
    metric = SUCCESS if task.success else RETURN
    final_key = "success_rate" if task.success else "return_mean"
    cell = Cell([], [], [], [], [])
    for key in sorted(k for k in records if k.rsplit("/", 1)[0] == prefix):
        record = records[key]
        if metric not in record or record[metric][0][-1] < steps:
            continue  # not finished: left out of the table until it is
        x, y = map(np.asarray, record[metric])
        upto = x <= steps  # a SAC run shared with a longer task goes on beyond
        cell.curves.append(Curve(x[upto], y[upto]))
        cell.last3.append(float(np.mean(y[upto][-LAST:])))
        final = (record.get("final") or {}).get(str(steps))
        if final is not None:
            cell.finals.append(float(final[final_key]))
            cell.episodes.append(int(final["episodes"]))
        cell.minutes.append(minutes_at(record, steps))
    return cell


CARRIED = "†"  # marks a row kept from an earlier table: its task has no record at all
KEPT_HEADING = f"{CARRIED} Kept from an earlier table"


def previous_rows(table: Path) -> tuple[str, dict[str, str]]:
    """The header and the result rows of an earlier table's layout (8 columns), by task: kept
    for tasks that have no record at all."""
    if not table.is_file():
        return "", {}
    header, rows = "", {}
    for line in table.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 8:
            continue
        if cells[0] == "task":
            header = line
        name = cells[0].split(" ", 1)[0]
        if name in TASKS and set(cells[3:6]) - {"not run", "none"}:
            rows[name] = line
    return header, rows


def row_digits(cells: dict[str, Cell], success: bool) -> int:
    """Decimals for a row: two for success rates and small returns (reacher: -6.3)."""
    values = [abs(v) for cell in cells.values() for v in cell.last3 + cell.finals]
    return 2 if success or (values and max(values) < 100) else 0


def mean_std(values: list[float], digits: int) -> str:
    """``mean ± std (n)``; ``-`` for no values."""
    if not values:
        return "-"
    spread = f" ± {np.std(values):.{digits}f}" if len(values) > 1 else ""
    return f"{np.mean(values):.{digits}f}{spread} ({len(values)})"


def fmt(cell: Cell | None, digits: int) -> str:
    """``final / last-3``, each as mean ± std (seeds); ``not run`` before a run finished."""
    if cell is None:
        return "none"
    if not cell.last3:
        return "not run"
    return f"{mean_std(cell.finals, digits)} / {mean_std(cell.last3, digits)}"


def gap(rsac: list[float], partial: list[float], full: list[float]) -> str:
    """(RSAC - partial SAC) / (full SAC - partial SAC) over seed means."""
    if not (rsac and partial and full):
        return "-"
    span = np.mean(full) - np.mean(partial)
    return f"{(np.mean(rsac) - np.mean(partial)) / span:.2f}" if abs(span) > 1e-9 else "-"


def gap_closed(cells: dict[str, Cell], task: Task) -> str:
    """By the final evaluations / by the last-3 means, for the recipe and the tuned config.
    Bump tasks (no full-state run): how many seeds reach a success of 0.9, and each value."""
    partial, full = cells.get("sac-partial"), cells.get("sac-full")
    parts = []
    for agent in ("recipe", "rsac"):
        rsac = cells[agent]
        if not rsac.last3:
            continue
        if task.success:
            for name, values in (("final", rsac.finals), ("last-3", rsac.last3)):
                if values:
                    reached = sum(v >= SUCCESS_GOAL for v in values)
                    each = ", ".join(f"{v:.2f}" for v in values)
                    parts.append(
                        f"{AGENT_NAMES[agent]} {name}: {reached}/{len(values)} ≥ {SUCCESS_GOAL} "
                        f"({each})"
                    )
        elif partial is not None and full is not None:
            by_final = gap(rsac.finals, partial.finals, full.finals)
            by_last3 = gap(rsac.last3, partial.last3, full.last3)
            parts.append(f"{AGENT_NAMES[agent]} {by_final} / {by_last3}")
    return "; ".join(parts) or "-"


AGENT_NAMES = {"recipe": "recipe", "rsac": "tuned"}


def deviations(task: Task) -> str:
    """The recipe's settings this task changes, or ``recipe``."""
    if not task.deviations:
        return "recipe"
    return ", ".join(flag.removeprefix("--model.").removeprefix("--") for flag in task.deviations)


def fmt_minutes(cell: Cell | None) -> str:
    if cell is None or not cell.minutes:
        return "-"
    return f"{np.mean(cell.minutes):.0f}"


def kilo(steps: int) -> str:
    return f"{steps // 1000}k" if steps % 1000 == 0 else str(steps)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}; one thread per run (OMP_NUM_THREADS=1)"
    )


HEADER = [
    "| task | env id (partial / full) | env steps (paper) | RSAC recipe | RSAC tuned | SAC partial "
    "| SAC full | gap closed | recipe deviations | min per run: recipe / tuned / "
    "partial / full |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def report(args: argparse.Namespace) -> dict[str, dict[str, Cell]]:
    records = update_records(args.table.with_suffix(".json"), args.out)
    old_header, previous = previous_rows(args.table)
    rows, kept = list(HEADER), []
    results: dict[str, dict[str, Cell]] = {}
    for name, task in TASKS.items():  # the whole suite: --tasks picks what to train only
        steps = total_steps(task, args)
        cells = {
            agent: collect(task, agent, records, agent_root(Path(), task, agent).as_posix(), steps)
            for agent in AGENTS
            if task.env_id(agent) is not None
        }
        results[name] = cells
        if name in previous and not any(cell.curves for cell in cells.values()):
            kept.append(carried(previous[name]))
        digits = row_digits(cells, task.success)
        scores = [fmt(cells.get(agent), digits) for agent in AGENTS]
        minutes = " / ".join(fmt_minutes(cells.get(a)) for a in AGENTS)
        ids = f"`{task.partial_id}`" + (f" / `{task.full_id}`" if task.full_id else "")
        what = " (success rate)" if task.success else ""
        rows.append(
            f"| {task.name}{what} | {ids} | {kilo(steps)} ({kilo(task.paper_budget)}) | "
            + " | ".join(scores)
            + f" | {gap_closed(cells, task)} | {deviations(task)} | {minutes} |"
        )
    counts = sorted({n for cells in results.values() for c in cells.values() for n in c.episodes})
    # as recorded: a rebuild with another --final_episodes does not re-evaluate anything
    counts = counts or [args.final_episodes]
    episodes = f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else counts[0]
    kept_table = [
        "",
        f"{KEPT_HEADING} (its layout: final test return of one evaluation): no run of these "
        "tasks has a record here yet.",
        "",
        old_header,
        "|---|---|---|---|---|---|---|---|",
        *kept,
    ]
    text = "\n".join(
        [
            f"Each agent's cell: the evaluation of its final policy over {episodes} "
            f"episodes with fixed seeds / the mean of each seed's last {LAST} test evaluations, "
            "both as mean ± std over seeds (seed count); test return, or test success rate for "
            "the bump tasks; '-' where no final evaluation was recorded, 'not run' where no run "
            "reached the budget. Gap closed: (RSAC - SAC partial) / (SAC full - SAC partial) for "
            "the recipe and the tuned config, by the final evaluations / by the last-3 means; "
            f"for the bump tasks, the seeds that reach {SUCCESS_GOAL}, and each seed's value. "
            "Minutes: training wall time per run up to the row's env steps (a run shared "
            "with a longer row counts only this row's part); it counts waiting for a core "
            "when other work shared the machine.",
            "",
            *rows,
            *(kept_table if kept else []),
            "",
            f"Machine: {machine()}.",
            "",
        ]
    )
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(text)
    print(text)
    plot(results, args.png)
    return results


def carried(row: str) -> str:
    """``row`` with its first cell marked as kept from an earlier table."""
    _, first, rest = row.split("|", 2)
    if CARRIED not in first:
        first = f"{first.rstrip()} {CARRIED} "
    return f"|{first}|{rest}"


def plot(results: dict[str, dict[str, Cell]], out: Path) -> None:
    """One panel per task that has curves (all panels when none has)."""
    import matplotlib

    matplotlib.use("Agg")  # headless, file output only
    import matplotlib.pyplot as plt

    drawn = {n: c for n, c in results.items() if any(cell.curves for cell in c.values())}
    results = drawn or results
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
            ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
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
    parser.add_argument(
        "--agents",
        nargs="+",
        choices=AGENTS,
        default=list(TRAINED_BY_DEFAULT),
        help="agents to train (rsac: the task's tuned config, only when named)",
    )
    parser.add_argument("--seeds", type=int, help="seeds per agent (default: per task, see Task)")
    parser.add_argument(
        "--baseline_seeds", type=int, help="seeds of the SAC runs (default: per task, see Task)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--ray", action="store_true", help="run each multifit on Ray Tune")
    parser.add_argument("--steps", type=int, help="env steps per run (default: the row's)")
    parser.add_argument("--epoch_steps", type=int, help="env steps per epoch (default: the row's)")
    parser.add_argument("--out", type=Path, default=REPO / "checkpoints/benchmarks/pomdp")
    parser.add_argument("--table", type=Path, default=REPO / "docs/pomdp.md")
    parser.add_argument("--png", type=Path, default=REPO / "docs/pomdp.png")
    parser.add_argument("--report_only", action="store_true", help="only rebuild table, figure")
    parser.add_argument(
        "--final_episodes",
        type=int,
        default=100,
        help="episodes of the final-policy evaluation that ends every run",
    )
    parser.add_argument(
        "--progress_every", type=float, default=30.0, help="seconds between progress lines"
    )
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.fit_args = argv[split + 1 :]
    args.out = args.out.resolve()
    for name in ("jobs", "baseline_seeds", "seeds", "steps", "epoch_steps", "final_episodes"):
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
