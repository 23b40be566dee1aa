"""Tests for the pybullet bumps family (`offpcc_pl/envs/bumps/`)."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import offpcc_pl  # noqa: F401  (registers the ids)
from offpcc_pl.envs import CATALOG
from offpcc_pl.envs.bumps.envs import BumpMDPEnv, BumpsNormEnv, BumpTargetEnv, _render_mode
from offpcc_pl.envs.bumps.scene import sample_union

BUMPS_IDS = [
    "pbc-bumps-normal-pomdp-v0",
    "pbc-bumps-normal-pomdp-punish-v0",
    "pbc-bumps-normal-punish-pomdp-v0",
    "pbc-bumps-normal-test-v0",
    "pbc-bumps-normal-pomdp-real-v0",
]
ALL_IDS = [*BUMPS_IDS, "pbc-bump-target-pomdp-v0", "pbc-bump-mdp-v0"]
SPACES = {  # env id -> (observation dim, action dim)
    **{env_id: (2, 2) for env_id in BUMPS_IDS},
    "pbc-bump-target-pomdp-v0": (3, 2),
    "pbc-bump-mdp-v0": (3, 1),
}
BASE_ID = "pbc-bumps-normal-pomdp-v0"


def _random_rollout(env: gymnasium.Env, seed: int, steps: int = 25) -> np.ndarray:
    """Observations and true bump positions of a seeded episode under fixed random actions."""
    obs, _ = env.reset(seed=seed)
    action_rng = np.random.default_rng(123)
    rows = [np.r_[obs, env.unwrapped.bump_positions()]]
    for _ in range(steps):
        action = action_rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, _, terminated, truncated, _ = env.step(action)
        rows.append(np.r_[obs, env.unwrapped.bump_positions()])
        if terminated or truncated:
            break
    return np.array(rows)


def _scripted_action(obs: np.ndarray, bump1_y: float, bump2_y: float) -> np.ndarray:
    """A policy that knows the hidden bump positions (test only).

    Soft right until past bump #1; from the right of bump #2, soft left until clear of its
    left side; from between the bumps, stiff right (the push).
    """
    tip_y, theta = float(obs[0]), float(obs[1])
    carriage_y = tip_y + 0.15 * math.sin(theta)  # the blade tip trails its carriage
    if tip_y < bump1_y + 0.035:
        return np.array([1.0, -1.0], dtype=np.float32)
    if tip_y > bump2_y - 0.03:
        step_ratio = np.clip((bump2_y - 0.06 - carriage_y) / 0.05, -1.0, -0.1)
        return np.array([step_ratio, -1.0], dtype=np.float32)
    return np.array([1.0, 1.0], dtype=np.float32)


def _success_rate(env: gymnasium.Env, episodes: int, scripted: bool) -> float:
    """Fraction of seeded episodes (seeds 0..episodes-1) that end with ``is_success``."""
    env.action_space.seed(0)
    successes = 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        while True:
            action = (
                _scripted_action(obs, *env.unwrapped.bump_positions())
                if scripted
                else env.action_space.sample()
            )
            obs, reward, terminated, truncated, info = env.step(action)
            if info["is_success"]:
                assert reward == 1.0 and terminated
            if terminated or truncated:
                break
        successes += info["is_success"]
    return successes / episodes


def _find_start(env: gymnasium.Env, where: str) -> int:
    """A seed whose start lies left of bump #1 (``"left"``) or right of bump #2."""
    for seed in range(200):
        obs, _ = env.reset(seed=seed)
        bump1_y, bump2_y = env.unwrapped.bump_positions()
        if (where == "left" and obs[0] < bump1_y - 0.1) or (where == "right" and obs[0] > bump2_y):
            return seed
    raise AssertionError(f"no seed starts {where} of the bumps")


@pytest.fixture(scope="module")
def base_env() -> gymnasium.Env:
    env = gymnasium.make(BASE_ID)
    yield env
    env.close()


def test_ids_registered() -> None:
    for env_id in ALL_IDS:
        spec = gymnasium.spec(env_id)
        assert spec.max_episode_steps == (200 if env_id == "pbc-bump-mdp-v0" else 50)
        assert CATALOG[env_id].family == "bumps"
    assert CATALOG[BASE_ID].hidden == "bump positions"


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_spaces_and_step_types(env_id: str) -> None:
    obs_dim, act_dim = SPACES[env_id]
    env = gymnasium.make(env_id)
    assert env.observation_space == gymnasium.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
    assert env.action_space == gymnasium.spaces.Box(-1.0, 1.0, (act_dim,), np.float32)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (obs_dim,)
    assert info == {"is_success": False}
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.dtype == np.float32 and obs.shape == (obs_dim,)
    assert isinstance(reward, float) and isinstance(terminated, bool) and truncated is False
    assert set(info) == {"is_success"}
    env.close()


@pytest.mark.parametrize("env_class", [BumpsNormEnv, BumpTargetEnv, BumpMDPEnv])
def test_passes_gymnasium_env_checker(env_class: type[gymnasium.Env]) -> None:
    env = env_class()
    check_env(env, skip_render_check=True)  # warns only about the (specified) infinite bounds
    env.close()


@pytest.mark.parametrize("env_id", [BASE_ID, "pbc-bump-target-pomdp-v0", "pbc-bump-mdp-v0"])
def test_seeded_reset_is_reproducible(env_id: str) -> None:
    first, second = gymnasium.make(env_id), gymnasium.make(env_id)
    for seed in (0, 1):
        # Two fresh envs replay a seeded episode bit for bit.
        np.testing.assert_array_equal(_random_rollout(first, seed), _random_rollout(second, seed))
    # After other episodes, the layout is identical; physics agrees to float noise.
    _random_rollout(second, seed=7)
    replay, again = _random_rollout(first, seed=3), _random_rollout(second, seed=3)
    np.testing.assert_array_equal(replay[0], again[0])
    np.testing.assert_allclose(replay, again, rtol=0, atol=1e-6)
    first.close()
    second.close()


def test_truncated_at_50_steps_when_nothing_happens(base_env: gymnasium.Env) -> None:
    obs0, _ = base_env.reset(seed=0)
    bumps0 = base_env.unwrapped.bump_positions()
    for step in range(1, 51):
        obs, reward, terminated, truncated, info = base_env.step(np.array([0.0, -1.0]))
        assert reward == 0.0 and not terminated and not info["is_success"]
        assert truncated == (step == 50)
    np.testing.assert_allclose(obs, obs0, atol=1e-6)
    np.testing.assert_allclose(base_env.unwrapped.bump_positions(), bumps0, atol=1e-6)


@pytest.mark.parametrize("where", ["left", "right"])
def test_terminated_when_the_tip_reaches_a_y_limit(base_env: gymnasium.Env, where: str) -> None:
    _find_start(base_env, where)  # leaves the env reset on that seed
    direction = -1.0 if where == "left" else 1.0
    for _ in range(20):
        obs, reward, terminated, truncated, _ = base_env.step(np.array([direction, -1.0]))
        if terminated or truncated:
            break
    assert terminated and not truncated and reward == 0.0
    assert abs(obs[0]) >= 0.38 and np.sign(obs[0]) == direction


def test_soft_finger_passes_over_a_bump(base_env: gymnasium.Env) -> None:
    _find_start(base_env, "left")
    bump1_start, _ = base_env.unwrapped.bump_positions()
    max_theta = 0.0
    for _ in range(15):
        obs, reward, terminated, _, _ = base_env.step(np.array([1.0, -1.0]))  # soft, right
        max_theta = max(max_theta, float(obs[1]))
        if obs[0] > bump1_start + 0.04:
            break
    bump1_y, _ = base_env.unwrapped.bump_positions()
    assert obs[0] > bump1_start + 0.04, "the tip got past bump #1"
    assert abs(bump1_y - bump1_start) < 0.001 and not terminated and reward == 0.0
    assert max_theta > 0.3, "the blade bent back over the bump"


@pytest.mark.parametrize("env_id, wrong_push_reward", [(BASE_ID, 0.0), (BUMPS_IDS[1], -1.0)])
def test_stiff_finger_pushes_a_bump(env_id: str, wrong_push_reward: float) -> None:
    env = gymnasium.make(env_id)
    _find_start(env, "left")
    bump1_start, _ = env.unwrapped.bump_positions()
    max_theta = 0.0
    for _ in range(15):
        obs, reward, terminated, _, info = env.step(np.array([1.0, 1.0]))  # stiff, right
        max_theta = max(max_theta, abs(float(obs[1])))
        if terminated:
            break
    bump1_y, _ = env.unwrapped.bump_positions()
    assert terminated and reward == wrong_push_reward and not info["is_success"]
    assert bump1_y - bump1_start > 0.001, "bump #1 was pushed right"
    assert obs[0] < bump1_y and max_theta < 0.2, "the blade stayed straight, left of the bump"
    env.close()


def test_scripted_policy_solves_the_task_and_random_does_not(base_env: gymnasium.Env) -> None:
    scripted = _success_rate(base_env, episodes=100, scripted=True)
    random = _success_rate(base_env, episodes=100, scripted=False)
    print(f"\n{BASE_ID}: scripted success {scripted:.2f}, random success {random:.2f}")
    assert scripted >= 0.95
    assert random < scripted


def test_normal_reset_layout(base_env: gymnasium.Env) -> None:
    for seed in range(200):
        obs, _ = base_env.reset(seed=seed)
        bump1_y, bump2_y = base_env.unwrapped.bump_positions()
        assert -0.28 <= bump1_y <= 0.16 and -0.16 <= bump2_y <= 0.28
        assert 0.12 <= bump2_y - bump1_y <= 0.32
        tip_y = float(obs[0])
        assert -0.38 <= tip_y <= 0.38
        assert abs(tip_y - bump1_y) >= 0.04 - 1e-6 and abs(tip_y - bump2_y) >= 0.04 - 1e-6


@pytest.mark.parametrize("option", [1, 2, 3])
def test_test_variant_default_option_index(option: int) -> None:
    env = gymnasium.make("pbc-bumps-normal-test-v0", default_option_index=option)
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        bump1_y, bump2_y = env.unwrapped.bump_positions()
        assert abs(bump1_y - (-0.4 + 0.16 * option)) <= 0.03 + 1e-6
        assert abs(bump2_y - (-0.4 + 0.16 * (option + 1))) <= 0.03 + 1e-6
        assert abs(obs[0]) <= 0.03 + 1e-6
    env.close()


def test_test_variant_rejects_a_bad_option_index() -> None:
    with pytest.raises(ValueError, match="default_option_index"):
        BumpsNormEnv(reset_mode="test", default_option_index=4)


def test_real_variant_reset_layout() -> None:
    env = gymnasium.make("pbc-bumps-normal-pomdp-real-v0")
    for seed in range(100):
        obs, _ = env.reset(seed=seed)
        bump1_y, bump2_y = env.unwrapped.bump_positions()
        assert bump1_y >= -0.35 and bump2_y <= 0.35 and bump2_y - bump1_y >= 0.06 - 1e-6
        tip_y = float(obs[0])
        assert -0.38 <= tip_y <= 0.38
        assert abs(tip_y - bump1_y) >= 0.03 - 1e-6 and abs(tip_y - bump2_y) >= 0.03 - 1e-6
    env.close()


def test_sample_union_is_length_weighted() -> None:
    rng = np.random.default_rng(0)
    samples = np.array(
        [sample_union(rng, [(0.0, 1.0), (2.0, 5.0), (7.0, 6.0)]) for _ in range(4000)]
    )
    assert np.all(((samples >= 0) & (samples <= 1)) | ((samples >= 2) & (samples <= 5)))
    assert abs(np.mean(samples >= 2) - 0.75) < 0.03
    assert sample_union(rng, [(1.0, 1.0), (3.0, 2.0)]) is None


def test_action_failure_prob_one_skips_every_action() -> None:
    env = gymnasium.make(BASE_ID, action_failure_prob=1.0)
    obs0, _ = env.reset(seed=0)
    obs, *_ = env.step(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(obs, obs0)
    env.close()


def test_discrete_mode() -> None:
    env = gymnasium.make(BASE_ID, discrete=True)
    assert env.action_space == gymnasium.spaces.Discrete(4)
    obs0, _ = env.reset(seed=0)
    obs, *_ = env.step(2)  # right, soft
    assert obs[0] > obs0[0]
    env.close()


def test_target_and_mdp_tasks_are_solvable() -> None:
    target = gymnasium.make("pbc-bump-target-pomdp-v0")
    for seed in range(5):
        obs, _ = target.reset(seed=seed)
        pushing = False
        for _ in range(50):
            tip_y, theta, target_y = obs[0] * 0.4, obs[1], obs[2] * 0.4
            bump_y = target.unwrapped.bump_positions()[0]
            side = -1.0 if target_y > bump_y else 1.0  # push from this side of the bump
            pushing = pushing or ((tip_y - bump_y) * side >= 0.035 and abs(theta) <= 0.1)
            action = [-side, 1.0] if pushing else [side, -1.0]  # else go around, soft
            obs, reward, terminated, truncated, info = target.step(np.array(action))
            if terminated or truncated:
                break
        assert info["is_success"] and reward == 1.0
    target.close()
    mdp = gymnasium.make("pbc-bump-mdp-v0")
    for seed in range(5):
        obs, _ = mdp.reset(seed=seed)
        for _ in range(200):
            obs, reward, terminated, truncated, info = mdp.step(np.array([-obs[2] * 2 + 1]))
            if terminated or truncated:
                break
        assert info["is_success"] and reward == 1.0 and abs(obs[0]) >= 1.0
    mdp.close()


def test_render_rgb_array() -> None:
    env = gymnasium.make(BASE_ID, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # a scene, not a blank image
    env.close()
    env.close()  # closing twice is harmless


def test_rendering_flag_means_human() -> None:
    assert _render_mode(None, rendering=True) == "human"
    assert _render_mode("rgb_array", rendering=True) == "rgb_array"
    assert _render_mode(None, rendering=False) is None
    with pytest.raises(ValueError, match="render_mode"):
        _render_mode("ansi", rendering=False)
