"""Where a water-maze policy's return goes: the first search for the platform against the
trips back to it.

Usage: ``python benchmarks/maze_trips.py RUN_OR_POLICY [...] [--episodes 100]``. Plays the
evaluation episodes of ``offpcc-pl evaluate`` (episode i resets with seed ``TEST_SEED + i``),
so its mean return is the one ``evaluate`` and the benchmark's final evaluation report. A trip
starts at the episode's start and again each time five rewarded steps move the agent off the
platform. The first trip is a search (the platform is hidden); a trip after it is memory at
work: a policy that remembers the platform goes back as fast as one that sees it. Printed per
policy: the mean return, the steps to the platform on first and later trips (with how many
reached it), and the completed visits per episode.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium
import numpy as np

import offpcc_pl
from offpcc_pl.envs.make import TEST_SEED, make_env
from offpcc_pl.envs.water_maze import WaterMazeEnv
from offpcc_pl.rollout import Actor, play_episode


@dataclass
class Trips:
    """What a policy did over the evaluation episodes."""

    returns: list[float] = field(default_factory=list)  # per episode
    visits: list[int] = field(default_factory=list)  # per episode: trips ended on the platform
    first: list[int] = field(default_factory=list)  # steps to the platform, first trips there
    later: list[int] = field(default_factory=list)  # the same on every later trip


def sparse_maze(env: gymnasium.Env) -> WaterMazeEnv | None:
    """The water maze under ``env``'s wrappers if its reward marks the platform, else None."""
    base = env.unwrapped
    return base if isinstance(base, WaterMazeEnv) and not base.dense else None


class TripCounter(gymnasium.Wrapper):
    """Cuts each episode of a sparse water maze into trips as it is played: a trip starts at
    the reset and again when the fifth rewarded step moves the agent off the platform."""

    def __init__(self, env: gymnasium.Env, trips: Trips) -> None:
        base = sparse_maze(env)
        if base is None:
            raise ValueError(f"{env.unwrapped} is not a sparse water maze")
        super().__init__(env)
        self.base, self.trips = base, trips
        self.start = self.step_count = self.visited = 0  # visited: this episode's finished trips
        self.found = False

    def reset(self, **kwargs):
        self.start = self.step_count = self.visited = 0
        self.found = False
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, rew, terminated, truncated, info = self.env.step(action)
        self.step_count += 1
        if rew > 0 and not self.found:  # sparse mazes reward only steps on the platform
            (self.trips.first if self.visited == 0 else self.trips.later).append(
                self.step_count - self.start
            )
            self.found = True
        if rew > 0 and self.base.steps_on_platform == 0:  # the fifth: moved off the platform
            self.start, self.found, self.visited = self.step_count, False, self.visited + 1
        return obs, rew, terminated, truncated, info


def play(policy: Actor, env: gymnasium.Env, episodes: int) -> Trips:
    """Play ``episodes`` evaluation episodes, as ``offpcc-pl evaluate`` does, of a sparse water
    maze made by ``make_env``; ValueError for another env."""
    trips = Trips()
    counter = TripCounter(env, trips)
    for i in range(episodes):
        trips.returns.append(play_episode(policy, counter, TEST_SEED + i).episode_return)
        trips.visits.append(counter.visited)
    return trips


def mean(values: list[int]) -> str:
    return f"{np.mean(values):.1f}" if values else "-"


def trips(path: str, episodes: int) -> str:
    """The report line for the policy at ``path`` (a run dir, policy dir or checkpoint)."""
    policy = offpcc_pl.load_policy(path)
    env = make_env(policy.env_id, history=policy.spec.history)
    if sparse_maze(env) is None:
        env.close()
        raise ValueError(f"{path}: its env {policy.env_id} is not a sparse water maze")
    out = play(policy, env, episodes)
    env.close()
    return (
        f"{path} ({policy.env_id}): return {np.mean(out.returns):.1f} over {episodes} episodes; "
        f"first trip {mean(out.first)} steps ({len(out.first)} of {episodes} reached the "
        f"platform); later trips {mean(out.later)} steps ({len(out.later)}); "
        f"visits per episode {np.mean(out.visits):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run dirs, policy dirs or checkpoints")
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    if args.episodes < 1:
        parser.exit(2, f"maze_trips.py: --episodes {args.episodes}: must be 1 or more\n")
    for path in args.paths:
        if not Path(path).exists():
            parser.exit(2, f"maze_trips.py: {path}: no such run, policy or checkpoint\n")
    for path in args.paths:
        try:
            print(trips(path, args.episodes))
        except ValueError as error:
            parser.exit(2, f"maze_trips.py: {error}\n")


if __name__ == "__main__":
    main()
