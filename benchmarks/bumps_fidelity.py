"""Our pybullet bumps env beside the original's figures, measured on placed layouts.

Usage: ``python benchmarks/bumps_fidelity.py [--episodes 100]``. Prints a Markdown table of
``pbc-bumps-normal-pomdp-v0``'s behaviour (soft passes, hard pushes, blade angles, seeded
sweeps, success rates, speed) with the original's figures as a constant reference column.
The layouts are those of ``tests/test_envs_bumps.py``, which asserts thresholds on the same
measures; this prints the values.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import gymnasium
import numpy as np

from offpcc_pl.envs.make import make_env  # importing offpcc_pl registers the ids

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bumps_speed import measure  # noqa: E402  (a sibling script, not a package)

ENV_ID = "pbc-bumps-normal-pomdp-v0"
SOFT_PASS = (-0.1, 0.2, -0.25)  # 15 cm left of bump #1: over it in the 3rd and 4th steps
BETWEEN = (-0.15, 0.15)  # two bumps, the finger starts between them
FREE_MOTION = [[1.0, -1.0]] * 4 + [[0.3, 1.0]] + [[-1.0, 1.0]] * 4 + [[-0.5, 0.0]]


def run(env: gymnasium.Env, layout: tuple[float, ...], actions: list) -> tuple[list, list]:
    """Place ``layout``, take ``actions``; return the observations and each bump's shift (m)."""
    env.reset(options={"layout": layout})
    observations = [env.step(np.array(action, dtype=np.float32))[0] for action in actions]
    moved = np.array(env.unwrapped.bump_positions()) - np.array(layout[:2])
    return observations, list(moved)


def episodes(env: gymnasium.Env, count: int, policy: str, a1: float = -0.2) -> list[tuple]:
    """Seeded episodes (seeds 0..count-1); ``(is_success, final tip y)`` of each."""
    env.action_space.seed(0)
    results = []
    for seed in range(count):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            if policy == "scripted":
                action = env.unwrapped.oracle_action(obs)
            elif policy == "random":
                action = env.action_space.sample()
            else:  # "sweep": full steps right at stiffness a1
                action = np.array([1.0, a1], dtype=np.float32)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        results.append((info["is_success"], float(obs[0])))
    return results


def fidelity_rows(n: int, speed_steps: int) -> list[tuple[str, str, str]]:
    """``(measure, original, ours)`` rows; ``n`` seeded episodes per policy."""
    env = make_env(ENV_ID)  # quiet: pybullet prints argv[0]= from C on a plain make
    soft = {a1: run(env, SOFT_PASS, [[1.0, a1]] * 7) for a1 in (-1.0, -0.2, 0.0)}
    mm = {a1: abs(moved[0]) * 1000 for a1, (_, moved) in soft.items()}
    thetas = [float(obs[1]) for obs in soft[-1.0][0]]
    _, pushed = run(env, (*BETWEEN, BETWEEN[1] - 0.05), [[1.0, 1.0]])
    env.reset(options={"layout": (*BETWEEN, 0.05)})
    taken, terminated = 0, False
    while not terminated and taken < 10:
        _, _, terminated, _, info = env.step(np.array([1.0, 1.0], dtype=np.float32))
        taken += 1
    to_success = str(taken) if info["is_success"] else f"no success in {taken}"
    free, _ = run(env, (-0.3, 0.3, -0.22), FREE_MOTION)
    sweep = sum(y >= 0.37 for _, y in episodes(env, 20, "sweep"))
    scripted = np.mean([ok for ok, _ in episodes(env, n, "scripted")])
    random = np.mean([ok for ok, _ in episodes(env, n, "random")])
    env.close()
    speed, _, _ = measure(ENV_ID, speed_steps, seed=0)
    return [
        ("left bump moved by a soft pass (a1 = -1)", "0.00 mm", f"{mm[-1.0]:.2f} mm"),
        ("left bump moved at a1 = -0.2", "0.01 mm", f"{mm[-0.2]:.2f} mm"),
        ("left bump moved at a1 = 0", "0.07 mm", f"{mm[0.0]:.2f} mm"),
        (
            "bump moved in the first step of a hard push (a1 = +1)",
            "25.97 mm",
            f"{pushed[1] * 1000:.2f} mm",
        ),
        ("steps to success from between the bumps (hard push right)", "2", to_success),
        (
            "blade angle over a bump, moving right (the two steps over it)",
            "-0.18, -0.50",
            f"{thetas[2]:.2f}, {thetas[3]:.2f}",
        ),
        (
            "blade angle in the steps after passing a bump",
            "-0.475 -> -0.009",
            f"{thetas[4]:.3f} -> {thetas[5]:.3f}",
        ),
        (
            "largest blade angle in free motion",
            "0.000",
            f"{max(abs(float(obs[1])) for obs in free):.3f}",
        ),
        (
            "20 seeded resets (seeds 0..19), sweeping right at a1 = -0.2: reaches the right "
            "limit (tip y >= 0.37)",
            "17 / 20",
            f"{sweep} / 20",
        ),
        (
            f"scripted policy that reads the hidden positions, {n} seeded episodes: success rate",
            "(ours only)",
            f"{scripted:.2f}",
        ),
        (f"random policy, {n} seeded episodes: success rate", "(ours only)", f"{random:.2f}"),
        ("env steps/s, random policy, one core", "10-14 (original)", f"{speed:.0f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="seeded episodes per policy")
    parser.add_argument("--speed-steps", type=int, default=3000, help="random steps timed")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = fidelity_rows(args.episodes, args.speed_steps)
    cpu = platform.processor() or platform.machine()
    print(
        f"{ENV_ID} on {platform.system()} {cpu}, Python {platform.python_version()}, "
        f"pybullet {version('pybullet')} ({time.perf_counter() - start:.0f} s)"
    )
    print("\n| measure | original (UR5 + shovel) | ours |\n|---|---|---|")
    for measure_name, original, ours in rows:
        print(f"| {measure_name} | {original} | {ours} |")


if __name__ == "__main__":
    main()
