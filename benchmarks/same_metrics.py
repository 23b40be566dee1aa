"""Same-metrics check: a refactor must leave a run's logged losses and returns identical.

    python benchmarks/same_metrics.py --save DIR                # record a reference
    python benchmarks/same_metrics.py --against DIR --out DIR2  # re-run and compare
    python benchmarks/same_metrics.py --against DIR --out DIR2 --compare_only  # compare again

Trains two short runs through the public CLI (``python -m offpcc_pl fit``), seed 0, CSV
logging only, 3 epochs of 1,000 env steps:

- ``pendulum-p``: ``configs/pomdp/pendulum-p.yaml`` (RSAC: GRU windows, shared critic
  summarizer), the recurrent update path;
- ``sac_pendulum``: ``configs/sac_pendulum.yaml``, the feed-forward update path.

Record the reference from the commit before a restructuring (``--save``), then run the
same on the restructured tree (``--against``). The losses are logged as means over each
epoch's 1,000 updates (the first epoch is warm-up), so one changed update changes them;
returns are logged per episode. For every compared column of each run's ``metrics.csv``
(``loss/*``, ``train/*``, ``test/*``, ``alpha``, ``entropy``, ``q/mean``, ``step`` and
``time/env_steps``; wall-clock columns such as ``time/hours`` are left out) the script
prints ``identical`` or the first row whose value differs, and exits 1 on any difference.
Values are compared as the logged text, so a change in the last bit of a float is caught.
Set ``OMP_NUM_THREADS=1`` on both sides: a different thread count may sum in another order.

To check another tree against the reference, run this script there with that tree first on
``PYTHONPATH`` (it prints where ``offpcc_pl`` was imported from).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = {"pendulum-p": "configs/pomdp/pendulum-p.yaml", "sac_pendulum": "configs/sac_pendulum.yaml"}
EPOCHS = 3
STEPS_PER_EPOCH = 1000
COMPARED_PREFIXES = ("loss/", "train/", "test/")
COMPARED_NAMES = ("alpha", "entropy", "q/mean", "step", "time/env_steps")


def compared(column: str) -> bool:
    """Whether a metrics column is part of the check (wall-clock columns are not)."""
    return column.startswith(COMPARED_PREFIXES) or column in COMPARED_NAMES


def fit(name: str, run_dir: Path) -> None:
    """One short ``offpcc-pl fit`` of ``RUNS[name]`` into ``run_dir`` (CSV log only)."""
    cmd = [
        sys.executable,
        "-m",
        "offpcc_pl",
        "fit",
        "--config",
        str(REPO / RUNS[name]),
        "--seed_everything",
        "0",
        "--trainer.max_epochs",
        str(EPOCHS),
        "--trainer.limit_train_batches",
        str(STEPS_PER_EPOCH),
        "--trainer.default_root_dir",
        str(run_dir),
        "--trainer.logger",
        "false",
        "--trainer.enable_progress_bar",
        "false",
        "--last_checkpoint.every_minutes",
        "0",
    ]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{name}: offpcc-pl fit exited {result.returncode} ({' '.join(cmd)})")
    print(f"{name}: trained in {time.perf_counter() - start:.0f} s -> {run_dir}", flush=True)


def imported_package() -> str:
    """Where the runs' ``offpcc_pl`` comes from (PYTHONPATH can point at another tree)."""
    cmd = [sys.executable, "-c", "import offpcc_pl; print(offpcc_pl.__file__)"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def metrics_path(run_dir: Path) -> Path | None:
    """The run's one ``metrics.csv``, or None when there is not exactly one."""
    paths = sorted(run_dir.glob("csv/version_*/metrics.csv"))
    return paths[0] if len(paths) == 1 else None


def read_columns(path: Path) -> dict[str, list[tuple[int, str]]]:
    """``{column: [(row number, value), ...]}`` of the compared columns' non-empty cells.

    Rows are numbered from 1 after the header, as a spreadsheet shows them less one.
    """
    columns: dict[str, list[tuple[int, str]]] = {}
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        names = [name for name in reader.fieldnames or [] if compared(name)]
        for name in names:
            columns[name] = []
        for row_number, row in enumerate(reader, start=1):
            for name in names:
                if row[name] != "":
                    columns[name].append((row_number, row[name]))
    return columns


def compare(name: str, reference: Path, current: Path) -> bool:
    """Print one line per compared column; True when every column is identical."""
    ref_columns, cur_columns = read_columns(reference), read_columns(current)
    same = True
    for column in sorted(set(ref_columns) | set(cur_columns)):
        if column not in cur_columns or column not in ref_columns:
            side = "the current run" if column not in cur_columns else "the reference"
            print(f"{name} {column}: DIFFERS, missing from {side}")
            same = False
            continue
        ref_cells, cur_cells = ref_columns[column], cur_columns[column]
        first = next(
            (i for i, (r, c) in enumerate(zip(ref_cells, cur_cells)) if r[1] != c[1]), None
        )
        if first is not None:
            (ref_row, ref_value), (cur_row, cur_value) = ref_cells[first], cur_cells[first]
            print(
                f"{name} {column}: DIFFERS at value {first + 1} (reference row {ref_row}: "
                f"{ref_value}, current row {cur_row}: {cur_value})"
            )
            same = False
        elif len(ref_cells) != len(cur_cells):
            shorter = min(len(ref_cells), len(cur_cells))
            print(
                f"{name} {column}: DIFFERS in length ({len(ref_cells)} values in the "
                f"reference, {len(cur_cells)} now; the first {shorter} agree)"
            )
            same = False
        else:
            print(f"{name} {column}: identical ({len(ref_cells)} values)")
    return same


def fail(message: str) -> None:
    """A user's bad input: one line, exit 2, nothing written."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_empty(directory: Path, flag: str) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        fail(f"{flag} {directory} is not an empty directory; give a new or empty one")


def check_runs(directory: Path, flag: str, fix: str) -> None:
    missing = [name for name in RUNS if metrics_path(directory / name) is None]
    if missing:
        fail(
            f"{flag} {directory} has no single <run>/csv/version_*/metrics.csv for "
            f"{', '.join(missing)}; {fix}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, help="train the runs into this new directory")
    mode.add_argument("--against", type=Path, help="a directory written by --save to compare with")
    parser.add_argument("--out", type=Path, help="with --against: a new directory for the runs")
    parser.add_argument(
        "--compare_only",
        action="store_true",
        help="with --against: compare the runs already in --out instead of training them",
    )
    args = parser.parse_args(argv)

    if args.save is not None:
        if args.out is not None or args.compare_only:
            fail("--out and --compare_only go with --against; --save DIR names where runs go")
        check_empty(args.save, "--save")
        out = args.save
    else:
        if args.out is None:
            fail("--against needs --out DIR, where the runs to compare go (or are: --compare_only)")
        check_runs(args.against, "--against", f"make the reference with --save {args.against}")
        if args.compare_only:
            check_runs(args.out, "--out", "drop --compare_only to train them there")
        else:
            check_empty(args.out, "--out")
        out = args.out

    if not args.compare_only:
        print(f"offpcc_pl imported from {imported_package()}", flush=True)
        for name in RUNS:
            fit(name, out / name)
    if args.save is not None:
        print(f"reference saved in {out}")
        return 0

    same = True
    for name in RUNS:
        current = metrics_path(out / name)
        if current is None:
            print(f"{name}: DIFFERS, the run wrote no single metrics.csv under {out / name}")
            same = False
            continue
        same = compare(name, metrics_path(args.against / name), current) and same
    print("identical" if same else "DIFFERENT: see the lines marked DIFFERS")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
