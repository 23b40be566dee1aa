"""Why a bumps policy fails: each evaluation episode's outcome by where the finger started.

Usage: ``python benchmarks/bumps_failures.py RUN_OR_POLICY [...] [--episodes 100]``. Plays the
evaluation episodes of ``offpcc-pl evaluate`` (episode i resets with seed ``TEST_SEED + i``),
so its success rate is the one ``evaluate`` and the benchmark's final evaluation report, and
prints per policy a Markdown table: start region (left of both bumps, between them, right of
both) by outcome (success, bump #1 moved, bump #2 pushed left, a y limit reached, the time
limit), with the mean stiffness of the first action, where a stiff first step into an unseen
bump is a gamble.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

import offpcc_pl
from offpcc_pl.envs.bumps.envs import GRIPPER_Y_LIMIT, BumpsNormEnv
from offpcc_pl.envs.make import TEST_SEED, make_env
from offpcc_pl.rollout import play_episode

REGIONS = ("left of both", "between", "right of both")
OUTCOMES = ("success", "bump #1 moved", "bump #2 pushed left", "y limit", "time limit")


def region(start_y: float, y1: float, y2: float) -> str:
    return REGIONS[0] if start_y < y1 else REGIONS[1] if start_y < y2 else REGIONS[2]


def outcome(env: BumpsNormEnv, success: float | None) -> str:
    """What ended the episode, read from the bumps' and the finger's final state."""
    if success:
        return OUTCOMES[0]
    bump1_moved, bump2_left = env.wrong_moves(*env.bump_positions())
    if bump1_moved:
        return OUTCOMES[1]
    if bump2_left:
        return OUTCOMES[2]
    tip_y, _ = env.scene.finger_state()
    return OUTCOMES[3] if abs(tip_y) >= GRIPPER_Y_LIMIT else OUTCOMES[4]


class Recorder:
    """Acts as the policy does and keeps where the finger started and its first action."""

    def __init__(self, policy: offpcc_pl.Policy, env: BumpsNormEnv) -> None:
        self.policy, self.env = policy, env
        self.start_y: float | None = None
        self.first_action: np.ndarray | None = None

    def reset(self) -> None:
        self.policy.reset()
        self.start_y, self.first_action = None, None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        action = self.policy(obs)
        if self.first_action is None:
            self.start_y, _ = self.env.scene.finger_state()
            self.first_action = np.asarray(action, dtype=np.float64)
        return action


def failures(path: str, episodes: int) -> str:
    """The Markdown table for the policy at ``path`` (a run dir, policy dir or checkpoint)."""
    policy = offpcc_pl.load_policy(path)
    env = make_env(policy.env_id, history=policy.spec.history)
    base = env.unwrapped
    if not isinstance(base, BumpsNormEnv):
        raise ValueError(f"{path}: its env {policy.env_id} is not a two-bump task")
    actor = Recorder(policy, base)
    counts: Counter[tuple[str, str]] = Counter()
    stiffness: dict[str, list[float]] = {"success": [], "failure": []}
    for i in range(episodes):
        result = play_episode(actor, env, TEST_SEED + i)
        assert actor.start_y is not None and actor.first_action is not None
        ending = outcome(base, result.success)
        counts[region(actor.start_y, base._bump1_start, base._bump2_start), ending] += 1
        stiffness["success" if ending == OUTCOMES[0] else "failure"].append(actor.first_action[1])
    env.close()
    successes = sum(n for (_, ending), n in counts.items() if ending == OUTCOMES[0])
    lines = [
        f"{path} ({policy.env_id}): success {successes} / {episodes}",
        "",
        "| start | " + " | ".join(OUTCOMES) + " |",
        "|---" * (len(OUTCOMES) + 1) + "|",
    ]
    for name in REGIONS:
        lines.append(f"| {name} | " + " | ".join(str(counts[name, o]) for o in OUTCOMES) + " |")
    lines.append("")
    for kind, values in stiffness.items():
        if values:
            lines.append(f"first action's stiffness in [-1, 1], {kind}: {np.mean(values):+.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run dirs, policy dirs or checkpoints")
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    for path in args.paths:
        if not Path(path).exists():
            parser.exit(2, f"bumps_failures.py: {path}: no such run, policy or checkpoint\n")
    for path in args.paths:
        try:
            print(failures(path, args.episodes), end="\n\n")
        except ValueError as error:
            parser.exit(2, f"bumps_failures.py: {error}\n")


if __name__ == "__main__":
    main()
