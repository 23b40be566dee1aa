"""Env steps per second of a bumps-family env under a uniformly random policy.

Usage: ``python benchmarks/bumps_speed.py [--env-id ID] [--steps N] [--seed S]``. Resets are
included in the timing (episodes end often under a random policy); construction is not.
"""

from __future__ import annotations

import argparse
import time

from offpcc_pl.envs.make import make_env


def measure(env_id: str, steps: int, seed: int) -> tuple[float, int, float]:
    """Return ``(steps per second, episodes finished, physics steps per env step)``.

    Over ``steps`` uniformly random steps. A step runs as many physics steps as its length
    needs at the original's finger speed (about 120 for a full 5 cm step, none at a0 = 0).
    """
    env = make_env(env_id)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    episodes = 0
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            episodes += 1
            env.reset()
    elapsed = time.perf_counter() - start
    physics_steps = env.unwrapped.scene.physics_steps
    env.close()
    return steps / elapsed, episodes, physics_steps / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="pbc-bumps-normal-pomdp-v0")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    steps_per_second, episodes, physics_per_step = measure(args.env_id, args.steps, args.seed)
    print(
        f"{args.env_id}: {steps_per_second:.0f} env steps/s ({args.steps} random steps, "
        f"{episodes} episodes, {physics_per_step:.1f} physics steps of 1/240 s per env step)"
    )


if __name__ == "__main__":
    main()
