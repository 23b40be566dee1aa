"""Tests for the MuJoCo "-top" envs (`offpcc_pl/envs/mujoco_top.py`)."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

import offpcc_pl  # noqa: F401  (registers the ids)
from offpcc_pl.envs import CATALOG
from offpcc_pl.envs.mujoco_top import GripahTopEnv, Ur5TopEnv, ur5_joint_positions, wrap_angle

SPACES = {  # env id -> (observation dim, action dim, time limit)
    "bump-top-v0": (2, 1, 20),
    "box-top-v0": (2, 1, 20),
    "ant-reacher-top-v0": (4, 2, 20),
    "ur5-top-v0": (6, 3, 200),
    "ur5-mdp-top-v0": (6, 3, 10),
}


@pytest.mark.parametrize("env_id", list(SPACES))
def test_registered_spaces_and_step(env_id: str) -> None:
    obs_dim, act_dim, steps = SPACES[env_id]
    assert gymnasium.spec(env_id).max_episode_steps == steps
    assert CATALOG[env_id].family == "mujoco-top"
    env = gymnasium.make(env_id)
    assert env.observation_space.shape == (obs_dim,) and env.action_space.shape == (act_dim,)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (obs_dim,) and info == {"is_success": False}
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.dtype == np.float32 and obs.shape == (obs_dim,)
    assert reward in (-1.0, 0.0, 1.0) and isinstance(terminated, bool) and truncated is False
    assert info["is_success"] == (reward == 1.0)
    env.close()


@pytest.mark.parametrize("env_id", list(SPACES))
def test_seeded_episodes_replay(env_id: str) -> None:
    first, second = gymnasium.make(env_id), gymnasium.make(env_id)
    actions = np.random.default_rng(0).uniform(-1, 1, (5, *first.action_space.shape))
    rows = []
    for env in (first, second):
        obs, _ = env.reset(seed=3)
        rows.append([obs] + [env.step(action.astype(np.float32))[0] for action in actions])
        env.close()
    np.testing.assert_array_equal(rows[0], rows[1])


@pytest.mark.parametrize("task", ["bump", "box"])
def test_gripah_feels_the_obstacle_and_is_scored_at_the_limits(task: str) -> None:
    env = GripahTopEnv(task)
    deflections = {}
    for go_left in (True, False):
        seed = next(s for s in range(50) if (env.reset(seed=s), env.go_left)[1] == go_left)
        obs, _ = env.reset(seed=seed)
        start_x, deepest = obs[0] * 100, 0.0
        direction = 1.0 if start_x < 50 else -1.0
        for target in start_x + direction * np.arange(2.0, 40.0, 2.0):  # 2-unit steps across
            obs, reward, terminated, _, _ = env.step(np.array([target / 50 - 1]))
            deepest = max(deepest, abs(float(obs[1])))
            if terminated:
                break
        deflections[go_left] = deepest
        # Then drive to the correct limit: +1 there.
        obs, reward, terminated, _, info = env.step(np.array([-1.0 if go_left else 1.0]))
        assert terminated and reward == 1.0 and info["is_success"]
    env.close()
    if task == "bump":  # both bumps bend the finger, the big one (go right) more
        assert 0.2 < deflections[True] < deflections[False]
    else:  # a box bends it to its limit; nothing, not at all
        assert deflections[True] > 0.8 and deflections[False] < 1e-3


def test_gripah_wrong_limit_is_minus_one() -> None:
    env = gymnasium.make("bump-top-v0")
    env.reset(seed=0)
    go_left = env.unwrapped.go_left
    _, reward, terminated, _, info = env.step(np.array([1.0 if go_left else -1.0]))
    assert terminated and reward == -1.0 and not info["is_success"]
    env.close()


def test_ant_reacher_priest_shows_heaven_and_flags_end_the_episode() -> None:
    env = gymnasium.make("ant-reacher-top-v0")
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[2:], 0.0)
    obs, reward, terminated, _, _ = env.step(np.array([5.25, -5.75], dtype=np.float32) / 8)
    heaven = obs[2:]
    assert abs(heaven[0]) == pytest.approx(6.25) and heaven[1] == pytest.approx(6.75)
    assert reward == 0.0 and not terminated
    obs, reward, terminated, _, info = env.step((heaven / 8).astype(np.float32))
    assert reward == 1.0 and terminated and info["is_success"]
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step((heaven * [-1, 1] / 8).astype(np.float32))
    assert reward == -1.0 and terminated
    env.close()


def test_ur5_goal_shows_after_the_switch_and_is_reachable() -> None:
    env = Ur5TopEnv()
    obs, _ = env.reset(seed=1)
    goal = env.goal.copy()
    forearm, wrist = ur5_joint_positions(goal)
    assert abs(goal[0]) > math.pi / 4 and forearm[2] > 0.05 and wrist[2] > 0.15
    obs, *_ = env.step(np.zeros(3, dtype=np.float32))
    np.testing.assert_array_equal(obs[3:], 0.0)  # not shown before the switch
    switch_action = (env.SWITCH - env.ACTION_OFFSET) / env.ACTION_SCALE
    obs, *_ = env.step(switch_action.astype(np.float32))
    np.testing.assert_allclose(obs[3:], goal, rtol=1e-6)
    away = switch_action.astype(np.float32) + 0.5
    for _ in range(env.GOAL_VISIBLE_STEPS):
        obs, *_ = env.step(away)
    np.testing.assert_allclose(obs[3:], goal, rtol=1e-6)  # the 10th step after the switch
    obs, *_ = env.step(away)
    np.testing.assert_array_equal(obs[3:], 0.0)  # hidden from the 11th
    goal_action = np.clip((goal - env.ACTION_OFFSET) / env.ACTION_SCALE, -1, 1)
    _, reward, terminated, _, info = env.step(goal_action.astype(np.float32))
    assert reward == 1.0 and terminated and info["is_success"]
    env.close()
    mdp = Ur5TopEnv(goal_always_visible=True)
    mdp.reset(seed=1)
    obs, *_ = mdp.step(np.zeros(3, dtype=np.float32))
    np.testing.assert_allclose(obs[3:], mdp.goal, rtol=1e-6)
    mdp.close()


def test_wrap_angle_keeps_the_sign() -> None:
    assert wrap_angle(7.0) == pytest.approx(7.0 - 2 * math.pi)
    assert wrap_angle(-7.0) == pytest.approx(-(7.0 - 2 * math.pi))
    assert wrap_angle(1.0) == 1.0
