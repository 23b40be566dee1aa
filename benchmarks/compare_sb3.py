"""Learning curves of offpcc-pl against Stable-Baselines3 with the same hyperparameters.

Trains SB3's SAC/TD3 and ours on Pendulum-v1 (``--halfcheetah``: HalfCheetah-v5) for several
seeds, evaluates both the same way (every ``--epoch_steps`` env steps, ``--eval_episodes``
deterministic episodes reset with seeds ``TEST_SEED + i``, as offpcc-pl's validation loop),
writes SB3's results as CSVs in offpcc-pl's run layout (``<out>/<env>-SB3-<algo>/seed<k>/
csv/version_0/metrics.csv``) and draws both with ``offpcc-pl plot``::

    python benchmarks/compare_sb3.py --steps 5000 --seeds 0 1 --out runs/compare_sb3 \\
        --png docs/compare_sb3.png

Needs ``pip install stable-baselines3`` (in the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HYPERPARAMETERS = {  # shared by both libraries: offpcc's (the seed's) defaults
    "lr": 3e-4,
    "gamma": 0.99,
    "tau": 0.005,
    "batch_size": 100,
    "hidden_sizes": [256, 256],
    "update_after": 1000,
    "capacity": 1_000_000,
    "action_noise": 0.1,  # TD3 exploration noise, actions in [-1, 1]
}


def ours(args: argparse.Namespace, algo: str, env_id: str, out: Path) -> float:
    """Train offpcc-pl's ``algo`` for every seed with ``offpcc-pl multifit``; wall seconds."""
    hp = HYPERPARAMETERS
    fit_args = [
        "--model", algo,
        "--model.env_id", env_id,
        "--model.lr", str(hp["lr"]),
        "--model.gamma", str(hp["gamma"]),
        "--model.tau", str(hp["tau"]),
        "--model.batch_size", str(hp["batch_size"]),
        "--model.hidden_sizes", str(hp["hidden_sizes"]).replace(" ", ""),
        "--model.update_after", str(hp["update_after"]),
        "--model.capacity", str(hp["capacity"]),
        "--model.eval_episodes", str(args.eval_episodes),
        "--trainer.max_epochs", str(args.steps // args.epoch_steps),
        "--trainer.limit_train_batches", str(args.epoch_steps),
        "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(out / f"{env_id}-{algo}"),
    ]  # fmt: skip
    if algo == "TD3":
        fit_args += ["--model.action_noise", str(hp["action_noise"])]
    seeds = [str(seed) for seed in args.seeds]
    cmd = [sys.executable, "-m", "offpcc_pl", "multifit", "--seeds", *seeds, "--", *fit_args]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def _evaluate_sb3(model, env_id: str, episodes: int) -> tuple[float, float]:
    from offpcc_pl.envs.make import make_env
    from offpcc_pl.loop import TEST_SEED

    env = make_env(env_id)
    returns, lengths = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=TEST_SEED + i)
        total, length, done = 0.0, 0, False
        while not done:
            act, _ = model.predict(obs, deterministic=True)
            obs, rew, terminated, truncated, _ = env.step(act)
            total += float(rew)
            length += 1
            done = terminated or truncated
        returns.append(total)
        lengths.append(length)
    env.close()
    return float(np.mean(returns)), float(np.mean(lengths))


def sb3(args: argparse.Namespace, algo: str, env_id: str, seed: int, out: Path) -> float:
    """Train SB3's ``algo`` for one seed, evaluating every epoch; wall seconds."""
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    from offpcc_pl.envs.make import make_env

    hp = HYPERPARAMETERS
    env = make_env(env_id)  # the same [-1, 1] action scaling as ours
    env.reset(seed=seed)
    common = {
        "learning_rate": hp["lr"],
        "gamma": hp["gamma"],
        "tau": hp["tau"],
        "batch_size": hp["batch_size"],
        "buffer_size": hp["capacity"],
        "learning_starts": hp["update_after"],
        "train_freq": 1,
        "gradient_steps": 1,
        "policy_kwargs": {"net_arch": list(hp["hidden_sizes"])},
        "seed": seed,
        "device": "cpu",
        "verbose": 0,
    }
    if algo == "SAC":
        model = SAC("MlpPolicy", env, ent_coef="auto", **common)
    else:
        act_dim = env.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(act_dim), hp["action_noise"] * np.ones(act_dim))
        model = TD3(
            "MlpPolicy", env, action_noise=noise, policy_delay=2, target_policy_noise=0.2,
            target_noise_clip=0.5, **common,
        )  # fmt: skip

    run_dir = out / f"{env_id}-SB3-{algo}" / f"seed{seed}" / "csv" / "version_0"
    run_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, float]] = []
    start = time.perf_counter()

    class EvalEveryEpoch(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    rows.append({
                        "time/env_steps": self.num_timesteps,
                        "train/episode_return": float(info["episode"]["r"]),
                    })  # fmt: skip
            if self.num_timesteps % args.epoch_steps == 0:
                ret, length = _evaluate_sb3(self.model, env_id, args.eval_episodes)
                rows.append({
                    "time/env_steps": self.num_timesteps,
                    "test/episode_return": ret,
                    "test/episode_length": length,
                    "time/hours": (time.perf_counter() - start) / 3600,
                })  # fmt: skip
            return True

    model.learn(total_timesteps=args.steps, callback=EvalEveryEpoch())
    keys = sorted({k for row in rows for k in row})
    with (run_dir / "metrics.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    env.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="env steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--algos", nargs="+", default=["SAC", "TD3"], choices=["SAC", "TD3"])
    parser.add_argument("--out", type=Path, default=Path("runs/compare_sb3"))
    parser.add_argument("--png", type=Path, default=None, help="figure (default: OUT/compare.png)")
    parser.add_argument("--halfcheetah", action="store_true", help="HalfCheetah-v5, not Pendulum")
    parser.add_argument("--epoch_steps", type=int, default=1000, help="env steps between evals")
    parser.add_argument("--eval_episodes", type=int, default=5)
    parser.add_argument("--skip_ours", action="store_true", help="only (re)train SB3")
    parser.add_argument("--skip_sb3", action="store_true", help="only (re)train offpcc-pl")
    args = parser.parse_args()
    if args.steps % args.epoch_steps:
        parser.error("--steps must be a multiple of --epoch_steps")
    os.environ.setdefault("WANDB_MODE", "offline")
    env_id = "HalfCheetah-v5" if args.halfcheetah else "Pendulum-v1"
    args.out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for algo in args.algos:
        if not args.skip_ours:
            seconds[f"offpcc-pl {algo}"] = ours(args, algo, env_id, args.out)
        if not args.skip_sb3:
            seconds[f"SB3 {algo}"] = sum(
                sb3(args, algo, env_id, seed, args.out) for seed in args.seeds
            )
    png = args.png or args.out / "compare.png"
    groups = [str(args.out / f"{env_id}-{p}{a}") for a in args.algos for p in ("", "SB3-")]
    labels = [f"{p}{a}" for a in args.algos for p in ("offpcc-pl ", "SB3 ")]
    label_args = [x for label in labels for x in ("--label", label)]
    subprocess.run(
        [sys.executable, "-m", "offpcc_pl", "plot", *groups, "--out", str(png), "--overwrite",
         *label_args,
         "--title", f"{env_id}: offpcc-pl vs Stable-Baselines3 ({len(args.seeds)} seeds)"],
        check=True,
    )  # fmt: skip
    for name, wall in seconds.items():
        print(f"{name}: {wall:.0f} s for {len(args.seeds)} x {args.steps} env steps")


if __name__ == "__main__":
    main()
