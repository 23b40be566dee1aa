"""benchmarks/maze_trips.py: first search and trips back on the water maze, as evaluate plays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offpcc_pl.envs.make import make_env
from tests.conftest import BENCHMARKS, fit_and_evaluate, load_script, run_script, tiny_fit

SCRIPT = BENCHMARKS / "maze_trips.py"


class Homing:
    """Sees the platform (full-state maze: [x, y, flag, cx, cy]) and steers to its centre,
    braking with the velocity read from two positions; the same from every start at rest."""

    def reset(self) -> None:
        self.last: np.ndarray | None = None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        position, centre = obs[:2], obs[3:5]
        velocity = np.zeros(2) if self.last is None else position - self.last
        self.last = position
        return np.clip(20.0 * (centre - position) - 60.0 * velocity, -1.0, 1.0)


def test_a_policy_that_sees_the_platform_goes_back_as_fast_as_it_first_got_there() -> None:
    """Every trip of the simple maze starts at the centre at rest, so a memoryless homing
    policy takes the same steps on each: the trips are cut where the agent is put back."""
    trips = load_script(SCRIPT).play(Homing(), make_env("water-maze-simple-mdp-v0"), episodes=3)
    assert len(trips.first) == 3 and min(trips.visits) >= 5
    assert sum(trips.visits) == len(trips.first) + len(trips.later)
    for episode in range(3):  # the later trips of an episode repeat its first one
        start = sum(trips.visits[:episode]) - episode
        own = trips.later[start : start + trips.visits[episode] - 1]
        assert set(own) == {trips.first[episode]}
    # every completed visit is 5 rewarded steps; what is left is the last, cut-off visit
    assert all(0 <= r - 5 * v < 5 for r, v in zip(trips.returns, trips.visits))


def test_the_command_reports_the_return_that_evaluate_reports(tmp_path: Path) -> None:
    run, report = fit_and_evaluate(tmp_path, "water-maze-simple-pomdp-v0", episodes=2)
    expected = report["return_mean"]
    out = run_script("maze_trips.py", str(run), "--episodes", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"return {expected:.1f} over 2 episodes" in out.stdout
    assert "of 2 reached the platform" in out.stdout


def test_the_command_refuses_a_policy_of_another_task_in_one_line(tmp_path: Path) -> None:
    run = tiny_fit(tmp_path)
    for args, message in (
        ([str(run)], "is not a sparse water maze"),
        ([str(tmp_path / "missing")], "no such run, policy or checkpoint"),
        ([str(run), "--episodes", "0"], "--episodes 0: must be 1 or more"),
    ):
        out = run_script("maze_trips.py", *args)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
