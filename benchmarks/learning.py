"""Learning benchmark: train configs over seeds through the CLI and print a return table.

    python benchmarks/learning.py                      # the default set (long)
    python benchmarks/learning.py --runs sac_pendulum:0,1,2 pomdp/pendulum-p:0 --jobs 2

Each run is ``offpcc-pl fit --config configs/<name>.yaml --seed_everything <k>`` in its own
process (CSV logging only) under ``--out``; the table reads the test returns logged at
each epoch end and reports them at a few env-step marks, plus the wall time of each run.
A run given as ``name@ENV`` overrides the config's env id (e.g. feed-forward SAC on the
position-only pendulum: ``sac_pendulum@pendulum-p-v0``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_RUNS = [
    "sac_pendulum:0,1,2",
    "td3_pendulum:0,1,2",
    "ddpg_pendulum:0,1,2",
    "pomdp/pendulum-p:0,1,2",
    "sac_pendulum@pendulum-p-v0:0,1,2",
]
MARKS = (5000, 10000, 15000, 20000)


def test_returns(run_dir: str) -> dict[int, float]:
    """``{env_steps: mean test return}`` from every CSV version of a run."""
    returns: dict[int, float] = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "csv", "version_*", "metrics.csv"))):
        with open(path, newline="") as file:
            for row in csv.DictReader(file):
                if row.get("test/episode_return"):
                    returns[int(float(row["time/env_steps"]))] = float(row["test/episode_return"])
    return returns


def train(config: str, env_id: str | None, seed: int, out: str, epochs: int | None) -> dict:
    label = config.replace("/", "-") + (f"@{env_id}" if env_id else "")
    run_dir = os.path.join(out, label, f"seed{seed}")
    cmd = [
        sys.executable,
        "-m",
        "offpcc_pl",
        "fit",
        "--config",
        f"configs/{config}.yaml",
        "--seed_everything",
        str(seed),
        "--trainer.default_root_dir",
        run_dir,
        "--trainer.logger",
        "false",
        "--trainer.enable_progress_bar",
        "false",
    ]
    if env_id:
        cmd += ["--model.env_id", env_id]
    if epochs:
        cmd += ["--trainer.max_epochs", str(epochs)]
    start = time.perf_counter()
    with open(os.path.join(out, f"{label}-seed{seed}.log"), "w") as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    return {
        "label": label,
        "seed": seed,
        "code": code,
        "minutes": (time.perf_counter() - start) / 60,
        "returns": test_returns(run_dir),
    }


def parse_runs(specs: list[str]) -> list[tuple[str, str | None, int]]:
    runs = []
    for spec in specs:
        name, seeds = spec.rsplit(":", 1)
        config, _, env_id = name.partition("@")
        runs += [(config, env_id or None, int(s)) for s in seeds.split(",")]
    return runs


def at_mark(returns: dict[int, float], mark: int) -> str:
    steps = [s for s in returns if s <= mark]
    return f"{returns[max(steps)]:8.1f}" if steps and max(steps) >= mark * 0.95 else "       -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="config[@env]:seeds")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    parser.add_argument("--epochs", type=int, default=None, help="override max_epochs")
    parser.add_argument("--out", default="checkpoints/benchmarks/learning")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    runs = parse_runs(args.runs)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: train(*r, args.out, args.epochs), runs))
    header = "run".ljust(36) + "seed" + "".join(f"{m // 1000:>7}k" for m in MARKS)
    print(header + "   final   minutes")
    for r in results:
        final = r["returns"][max(r["returns"])] if r["returns"] else float("nan")
        marks = "".join(at_mark(r["returns"], m) for m in MARKS)
        status = "" if r["code"] == 0 else f"  (exit {r['code']})"
        print(f"{r['label']:<36}{r['seed']:>4}{marks}{final:8.1f}{r['minutes']:9.1f}{status}")


if __name__ == "__main__":
    main()
