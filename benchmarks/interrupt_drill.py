"""Interruption drill: interrupt one run at random moments, resume, compare.

One run of SAC on Pendulum-v1 (pure Python, so the episode in progress is saved too) is
interrupted ``--interrupts`` times with SIGINT, SIGTERM and SIGKILL mixed and resumed each
time with ``--ckpt_path last``. It must end with the weights of an uninterrupted run
(``torch.equal`` on every tensor). SIGINT / SIGTERM must exit 130 / 143 after saving
``last.ckpt``; at each SIGKILL the newest ``last.ckpt`` must be at most the time-based
interval (plus one batch) old.

    OMP_NUM_THREADS=1 python benchmarks/interrupt_drill.py            # ~1-2 min
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

EXPECTED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


def fit_command(run_dir: Path, epochs: int, steps: int, every_minutes: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "offpcc_pl",
        "fit",
        "--model",
        "SAC",
        "--model.env_id",
        "Pendulum-v1",
        "--model.hidden_sizes",
        "[16,16]",
        "--model.batch_size",
        "8",
        "--model.update_after",
        "50",
        "--model.eval_episodes",
        "1",
        "--trainer.max_epochs",
        str(epochs),
        "--trainer.limit_train_batches",
        str(steps),
        "--trainer.logger",
        "false",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.default_root_dir",
        str(run_dir),
        "--last_checkpoint.every_minutes",
        str(every_minutes),
    ]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "last.ckpt", weights_only=True)["state_dict"]


def env_steps(run_dir: Path) -> int:
    ckpt = torch.load(run_dir / "last.ckpt", weights_only=True)
    return next(v for k, v in ckpt["callbacks"].items() if "ReplayCallback" in k)["env_steps"]


def wait_for_progress(
    proc: subprocess.Popen, last: Path, since: float, target: int
) -> list[tuple[float, int]] | None:
    """Until this process's ``last.ckpt`` (saved every interval) reaches env step ``target``:
    the (time, env step) of each of its saves seen, or None if the process exited first."""
    seen: list[tuple[float, int]] = []
    while proc.poll() is None:
        if last.exists() and last.stat().st_mtime > since:
            since = last.stat().st_mtime
            seen.append((since, env_steps(last.parent)))
            if seen[-1][1] >= target:
                return seen
        time.sleep(0.02)
    return None


def steps_per_second(seen: list[tuple[float, int]], rate: float) -> float:
    """The run's speed between its first and last save seen (``rate`` when one was seen)."""
    (t0, s0), (t1, s1) = seen[0], seen[-1]
    return (s1 - s0) / (t1 - t0) if s1 > s0 and t1 > t0 else rate


def drill(
    work: Path, interrupts: int, epochs: int, steps: int, every_minutes: float, seed: int
) -> list[str]:
    """Run the drill in ``work``; returns the problems found (empty: passed)."""
    rng = random.Random(seed)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    straight, drilled = work / "straight", work / "drilled"
    out = subprocess.run(
        fit_command(straight, epochs, steps, every_minutes), env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        return [f"uninterrupted run failed: {out.stderr[-1500:]}"]
    kinds = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
    kinds += [rng.choice(kinds) for _ in range(interrupts - 3)]
    rng.shuffle(kinds)
    problems, interval, total, reached = [], 60 * every_minutes, epochs * steps, 0
    rate = float("inf")  # env steps per second, unknown until two saves are seen
    for i, kind in enumerate(kinds):
        # a random moment in this interrupt's share of what is left of the first 80 %, so a
        # fast machine overshooting one target (progress is seen only at saves) cannot use up
        # the run before the last interrupt
        share = max(1, (int(0.8 * total) - reached) // (interrupts - i))
        target = reached + rng.randint(1, share)
        cmd = fit_command(drilled, epochs, steps, every_minutes)
        started = time.time()
        proc = subprocess.Popen(
            cmd + ["--ckpt_path", "last"] * (i > 0),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = wait_for_progress(proc, drilled / "last.ckpt", started, target)
        if seen is None:
            problems.append(
                f"interrupt {i}: the run ended before step {target} ({proc.returncode})"
            )
            break
        # a random moment after that save, within half of what is left of the run at its
        # speed: a fast machine must not finish the run before the signal comes
        rate = steps_per_second(seen, rate)
        left = (total - seen[-1][1]) / rate
        time.sleep(rng.uniform(0.0, min(0.1, left / 2)))
        before = env_steps(drilled)
        killed_at = time.time()
        proc.send_signal(kind)
        _, stderr = proc.communicate(timeout=120)
        code, expected = proc.returncode, EXPECTED_EXIT[kind]
        if code != expected:
            problems.append(f"interrupt {i} ({kind.name}): exit {code}, expected {expected}")
        after = reached = env_steps(drilled)
        age = killed_at - (drilled / "last.ckpt").stat().st_mtime
        if kind == signal.SIGKILL and age > interval + 2.0:  # + one batch or evaluation
            problems.append(f"interrupt {i} (SIGKILL): newest last.ckpt was {age:.1f}s old")
        if kind != signal.SIGKILL and after < before:
            problems.append(f"interrupt {i} ({kind.name}): saved step {after} < {before}")
        print(
            f"interrupt {i}: {kind.name:8s} exit {code:4d}, last.ckpt at env step {after}"
            f"{f', {age:.1f}s old' if kind == signal.SIGKILL else ''}",
            flush=True,
        )
    out = subprocess.run(
        fit_command(drilled, epochs, steps, every_minutes) + ["--ckpt_path", "last"],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return [*problems, f"final resume failed: {out.stderr[-1500:]}"]
    a, b = weights(straight), weights(drilled)
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    if differ:
        problems.append(f"final weights differ from the uninterrupted run's: {differ[:5]}")
    if env_steps(drilled) != total:
        problems.append(f"final env steps {env_steps(drilled)} != {total}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interrupts", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=400, help="env steps per epoch")
    parser.add_argument("--every_minutes", type=float, default=0.001, help="time-based saves")
    parser.add_argument("--seed", type=int, default=0, help="seeds the interruption moments")
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.dir or Path(tmp)
        problems = drill(
            work, args.interrupts, args.epochs, args.steps, args.every_minutes, args.seed
        )
    for problem in problems:
        print("FAIL:", problem)
    print("drill passed: final weights equal the uninterrupted run's" if not problems else "")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
