"""Tests of the generic wrappers and the pure-python domains (pendulum, cart-pole, water maze,
car): hand-computed dynamics, termination vs truncation, observation views, pickling."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pytest

import offpcc_pl.envs  # noqa: F401  (registers the ids)
from offpcc_pl.envs.car import CarFlagEnv, CarTopEnv, CarTopRelativeEnv
from offpcc_pl.envs.cartpole import CartPoleContinuousEnv, CartPoleSwingUpVarLenEnv
from offpcc_pl.envs.pendulum import PendulumEnv, PendulumVarLenEnv
from offpcc_pl.envs.water_maze import WaterMazeEnv, WaterMazeSimpleEnv
from offpcc_pl.envs.wrappers import ConcatFrames, KeepIndices, PreviousAction, partially_observed

ZERO = np.zeros(1, dtype=np.float32)


def run_until_done(env: gymnasium.Env, action: np.ndarray) -> tuple[int, bool, bool]:
    """Step with a constant action until the episode ends; return (steps, terminated, truncated)."""
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(action)
        steps += 1
    return steps, terminated, truncated


# --- wrappers ---


def test_keep_indices_slices_bounds_and_observations() -> None:
    base = PendulumVarLenEnv()  # [cos, sin, theta_dot, length, last torque]
    env = KeepIndices(base, [4, 0])
    np.testing.assert_array_equal(env.observation_space.low, [-2.0, -1.0])
    np.testing.assert_array_equal(env.observation_space.high, [2.0, 1.0])
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32
    np.testing.assert_array_equal(obs, base._observation()[[4, 0]])
    with pytest.raises(ValueError, match=r"out of range for a 5-D observation"):
        KeepIndices(PendulumVarLenEnv(), [5])


def test_concat_frames_zero_pads_after_reset_oldest_first() -> None:
    env = ConcatFrames(PendulumEnv(), 3)
    assert env.observation_space.shape == (9,)
    np.testing.assert_array_equal(env.observation_space.high, np.tile([1.0, 1.0, 8.0], 3))
    obs_0, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs_0[:6], np.zeros(6))
    step_obs, *_ = env.step(ZERO)
    latest = env.unwrapped._observation()
    np.testing.assert_array_equal(step_obs, np.concatenate([np.zeros(3), obs_0[6:], latest]))
    env.step(ZERO)
    env.step(ZERO)  # the stack is full: the reset frame has dropped out
    obs_again, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs_again[:6], np.zeros(6))


def test_previous_action_zero_at_reset_then_clipped_action() -> None:
    env = PreviousAction(PendulumEnv())
    np.testing.assert_array_equal(env.observation_space.high, [1.0, 1.0, 8.0, 2.0])
    obs, _ = env.reset(seed=0)
    assert obs[-1] == 0.0
    obs, *_ = env.step(np.array([1.5], dtype=np.float32))
    assert obs[-1] == 1.5
    obs, *_ = env.step(np.array([5.0], dtype=np.float32))
    assert obs[-1] == 2.0  # clipped to the torque bound, as the env applies it


def test_partially_observed_order_keep_then_action_then_stack() -> None:
    env = partially_observed(PendulumEnv(), keep=[2], previous_action=True, concat=4)
    assert env.observation_space.shape == (8,)  # 4 x [theta_dot, previous torque]
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.array([0.5], dtype=np.float32))
    assert obs[-1] == 0.5 and obs[-2] == np.float32(env.unwrapped.theta_dot)
    assert partially_observed(PendulumEnv()).__class__ is PendulumEnv


def test_registered_view_has_one_time_limit_and_truncates() -> None:
    env = gymnasium.make("pendulum-va-concat10-v0")
    time_limits, layer = 0, env
    while isinstance(layer, gymnasium.Wrapper):
        time_limits += isinstance(layer, gymnasium.wrappers.TimeLimit)
        layer = layer.env
    assert time_limits == 1
    env.reset(seed=0)
    assert run_until_done(env, ZERO) == (200, False, True)


@pytest.mark.parametrize(
    ("variant", "base", "kept"),
    [
        ("HalfCheetah-P-v5", "HalfCheetah-v5", slice(0, 8)),
        ("Hopper-V-v5", "Hopper-v5", slice(5, 11)),
        ("Ant-V-v5", "Ant-v5", slice(13, 27)),
    ],
)
def test_mujoco_position_velocity_views_slice_the_base_observation(
    variant: str, base: str, kept: slice
) -> None:
    full, _ = gymnasium.make(base).reset(seed=3)
    view_env = gymnasium.make(variant)
    view, _ = view_env.reset(seed=3)
    np.testing.assert_array_equal(view, full[kept].astype(np.float32))
    assert view_env.spec.max_episode_steps == 1000


# --- pendulum ---


def test_pendulum_step_matches_hand_computation() -> None:
    env = PendulumEnv()
    env.reset(seed=0)
    env.theta, env.theta_dot = 0.5, 1.0
    obs, rew, terminated, truncated, _ = env.step(np.array([1.0], dtype=np.float32))
    # theta_dot' = 1 + 0.05 (15 sin 0.5 + 3); theta' = 0.5 + 0.05 theta_dot'
    theta_dot, theta = 1.5095691539531524, 0.5754784576976576
    np.testing.assert_allclose(obs, [np.cos(theta), np.sin(theta), theta_dot], rtol=1e-6)
    assert rew == pytest.approx(-(0.5**2 + 0.1 * 1.0**2 + 0.001 * 1.0**2))
    assert not terminated and not truncated


def test_pendulum_integrates_angle_before_clipping_speed() -> None:
    env = PendulumVarLenEnv()
    env.reset(seed=0)
    env.theta, env.theta_dot, env.length = 0.5, 7.9, 0.2
    obs, *_ = env.step(np.array([3.0], dtype=np.float32))  # torque clipped to 2
    # theta_dot = 7.9 + 0.05 (75 sin 0.5 + 150) = 17.1978... -> clipped to 8 after theta moves
    assert env.theta == pytest.approx(1.3598922884882882)
    np.testing.assert_allclose(obs[2:], [8.0, 0.2, 2.0])


def test_pendulum_var_len_draws_both_lengths_from_the_seed() -> None:
    env = PendulumVarLenEnv()
    lengths = {float(env.reset(seed=seed)[0][3]) for seed in range(20)}
    assert sorted(lengths) == pytest.approx([0.2, 1.0])
    assert env.reset(seed=7)[0][3] == env.reset(seed=7)[0][3]


# --- cart-pole ---


def test_cartpole_balance_step_matches_hand_computation() -> None:
    env = CartPoleContinuousEnv()
    env.reset(seed=0)
    env.state = np.zeros(4)
    obs, rew, terminated, _, _ = env.step(np.array([1.0], dtype=np.float32))
    # force 30: theta_acc = -1800/41, x_acc = 13200/451; Euler with tau 0.02
    np.testing.assert_allclose(obs, [0.0, 264 / 451, 0.0, -36 / 41], rtol=1e-6)
    assert rew == 1.0 and not terminated


def test_cartpole_balance_terminates_on_failure_and_truncates_at_limit() -> None:
    env = gymnasium.make("cartpole-balance-mdp-v0")
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.0, 0.0, 0.21, 0.0])  # beyond 12 degrees = 0.2094 rad
    _, rew, terminated, truncated, _ = env.step(ZERO)
    assert (rew, terminated, truncated) == (1.0, True, False)
    env.reset(seed=0)
    for step in range(1, 201):
        env.unwrapped.state = np.zeros(4)  # held upright: only the time limit ends it
        _, _, terminated, truncated, _ = env.step(ZERO)
        assert not terminated and truncated == (step == 200)


def test_cartpole_swingup_step_matches_hand_computation() -> None:
    env = CartPoleSwingUpVarLenEnv()
    env.reset(seed=0)
    env.state, env.length = np.array([0.0, 0.0, np.pi, 0.0]), 0.6
    obs, rew, terminated, _, _ = env.step(np.array([1.0], dtype=np.float32))
    # hanging down, force 10: x_acc = 40 / 2.5 = 16, theta_acc = -60 / 1.5 = -40, dt 0.01
    np.testing.assert_allclose(obs, [0.0, 0.16, -1.0, 0.0, -0.4, 0.6, 1.0], atol=1e-6)
    assert rew == pytest.approx(-0.1 * (np.pi**2 + 0.01 * 0.4**2))
    assert not terminated


def test_cartpole_swingup_bounces_off_the_track_end() -> None:
    env = CartPoleSwingUpVarLenEnv()
    env.reset(seed=0)
    env.state = np.array([2.4, 1.0, np.pi, 0.0])
    env.step(ZERO)
    # x would be 2.41: it stays at 2.4 and x_dot' = 1 + 0.01 (-0.4 / 2.5) is reversed
    np.testing.assert_allclose(env.state[:2], [2.4, -0.9984])


def test_cartpole_swingup_uses_only_the_env_rng() -> None:
    global_state = np.random.get_state()[1].copy()  # as it is: seeding would leak onward
    env = CartPoleSwingUpVarLenEnv()
    lengths = {float(env.reset(seed=seed)[0][5]) for seed in range(20)}
    assert sorted(lengths) == pytest.approx([0.1, 0.6])
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)


# --- water maze ---


def test_water_maze_undoes_a_move_out_of_the_pool() -> None:
    env = WaterMazeEnv()
    env.reset(seed=0)
    env.position, env.platform = np.array([0.99, 0.0]), np.array([-0.5, 0.0])
    obs, rew, *_ = env.step(np.array([0.2, 0.0], dtype=np.float32))  # 0.99 + 0.04 >= 1
    np.testing.assert_allclose(obs, [0.99, 0.0, 0.0, -0.5, 0.0], rtol=1e-6)
    obs, *_ = env.step(np.array([-0.2, 0.1], dtype=np.float32))  # inside: moves 0.2 * action
    np.testing.assert_allclose(obs[:2], [0.95, 0.02], rtol=1e-6)
    assert rew == 0.0


def test_water_maze_teleports_after_five_rewarded_steps() -> None:
    env = WaterMazeEnv()
    env.reset(seed=0)
    env.platform = np.array([0.3, 0.3])
    env.position = env.platform.copy()
    for _ in range(4):
        obs, rew, _, _, info = env.step(np.zeros(2, dtype=np.float32))
        assert rew == 1.0 and obs[2] == 1.0 and info["is_success"]
    obs, rew, *_ = env.step(np.zeros(2, dtype=np.float32))
    assert rew == 1.0 and obs[2] == 1.0  # the flag of the step, the position after the move
    assert np.linalg.norm(obs[:2] - env.platform) > env.platform_radius
    assert env.steps_on_platform == 0


def test_water_maze_dense_reward_and_zero_flag() -> None:
    env = WaterMazeEnv(dense=True)
    env.reset(seed=0)
    env.platform, env.position = np.array([0.0, 0.0]), np.array([0.1, 0.0])
    obs, rew, *_ = env.step(np.zeros(2, dtype=np.float32))
    assert rew == pytest.approx(-0.1) and obs[2] == 0.0


def test_water_maze_simple_bounce_zeroes_velocity_and_reset_reports_final_pos() -> None:
    env = WaterMazeSimpleEnv()
    env.reset(seed=0)
    env.position, env.velocity = np.array([0.95, 0.0]), np.array([0.08, 0.0])
    env.step(np.zeros(2, dtype=np.float32))  # 0.95 + 0.08 >= 1: undone
    np.testing.assert_array_equal(env.velocity, [0.0, 0.0])
    np.testing.assert_allclose(env.position, [0.95, 0.0])
    env.position = env.platform.copy()
    for _ in range(5):
        _, rew, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    np.testing.assert_allclose(info["final_pos"], env.platform, rtol=1e-6)
    np.testing.assert_array_equal(env.position, [0.0, 0.0])


def test_water_maze_only_truncates() -> None:
    env = gymnasium.make("water-maze-pomdp-v0")
    env.reset(seed=0)
    assert run_until_done(env, np.zeros(2, dtype=np.float32)) == (200, False, True)


# --- car ---


def test_car_priest_shows_heaven_side_only_in_its_window() -> None:
    env = CarFlagEnv()
    env.reset(seed=0)
    env.heaven_side, env.position, env.velocity = -1.0, 0.29, 0.02
    obs, *_ = env.step(ZERO)  # x = 0.31: inside [0.3, 0.7]
    np.testing.assert_allclose(obs, [0.31, 0.02, -1.0], rtol=1e-6)
    env.position = 0.69
    obs, *_ = env.step(ZERO)  # x = 0.71: outside
    assert obs[2] == 0.0


def test_car_heaven_terminates_with_success_and_time_limit_truncates() -> None:
    env = gymnasium.make("car-v0")
    env.reset(seed=0)
    car = env.unwrapped
    car.heaven_side, car.position, car.velocity = 1.0, 0.999, 0.01
    _, rew, terminated, truncated, info = env.step(ZERO)
    assert (rew, terminated, truncated, info["is_success"]) == (1.0, True, False, True)
    env.reset(seed=0)
    assert run_until_done(env, ZERO) == (160, False, True)  # at rest: never reaches a flag


def test_car_episodic_hell_costs_the_remaining_budget() -> None:
    env = CarFlagEnv(episodic=True)
    env.reset(seed=0)
    env.heaven_side, env.position, env.velocity = 1.0, -0.999, -0.01
    _, rew, terminated, _, info = env.step(ZERO)
    assert (rew, terminated, info["is_success"]) == (-1.0 - 159, True, False)


def test_car_top_cue_windows() -> None:
    wide, narrow = CarTopEnv(), CarTopEnv(priest_half_width=0.05)
    for env in (wide, narrow):
        env.reset(seed=0)
        env.heaven_side = 1.0
    assert wide.step(np.float32([0.4]))[0][1] == 1.0
    assert narrow.step(np.float32([0.4]))[0][1] == 0.0
    assert narrow.step(np.float32([0.5]))[0][1] == 1.0
    obs, rew, terminated, _, _ = narrow.step(np.float32([-1.1]))
    assert (rew, terminated) == (-1.0, True)


def test_car_top_relative_substeps_hell_penalty_and_own_end() -> None:
    env = CarTopRelativeEnv()
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[:57], np.zeros(57))
    env.heaven_side, env.position = -1.0, 0.0
    obs, rew, terminated, _, info = env.step(np.float32([1.0]))
    # hell (x = 1) at the 20th substep: 19 x (-1) - (160 - 20)
    assert (rew, terminated, info["is_success"]) == (-159.0, True, False)
    np.testing.assert_allclose(obs[0::3], np.linspace(0.05, 1.0, 20), rtol=1e-6)
    env = gymnasium.make("car-top-relative-v0")
    env.reset(seed=0)
    assert run_until_done(env, ZERO) == (8, True, False)  # 160 substeps, before MES 10


# --- every family: pickling, rendering ---


@pytest.mark.parametrize(
    "env_id",
    [
        "pendulum-va-concat10-v0",
        "cartpole-var-len-pa-v0",
        "cartpole-balance-mdp-concat5-v0",
        "water-maze-simple-mdp-v0",
        "car-episodic-concat20-v0",
        "car-top-relative-v0",
    ],
)
def test_pickled_env_continues_the_same_episode(env_id: str) -> None:
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(5)]
    env.step(actions[0])
    clone = pickle.loads(pickle.dumps(env))
    for action in actions[1:]:
        expected, actual = env.step(action), clone.step(action)
        np.testing.assert_array_equal(actual[0], expected[0])
        assert actual[1:4] == expected[1:4]


@pytest.mark.parametrize(
    ("env_class", "shape"),
    [
        (PendulumEnv, (192, 192, 3)),
        (CartPoleSwingUpVarLenEnv, (144, 336, 3)),
        (WaterMazeEnv, (198, 198, 3)),
        (CarFlagEnv, (80, 500, 3)),
        (CarTopEnv, (80, 240, 3)),
    ],
)
def test_rgb_array_frames_and_human_refused(
    env_class: type[gymnasium.Env], shape: tuple[int, int, int]
) -> None:
    env = env_class(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == shape and frame.dtype == np.uint8
    assert (frame != 255).any()  # something was drawn on the white background
    assert env_class().render() is None
    with pytest.raises(ValueError, match="not supported"):
        env_class(render_mode="human")
