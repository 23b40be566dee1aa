"""Tests for the pybullet bumps family (`offpcc_pl/envs/bumps/`)."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import offpcc_pl  # noqa: F401  (registers the ids)
from offpcc_pl.envs import CATALOG
from offpcc_pl.envs.bumps.envs import BumpMDPEnv, BumpsNormEnv, BumpTargetEnv, _render_mode
from offpcc_pl.envs.bumps.scene import BLADE_JOINT, mesh_inertia, sample_union
from tests.conftest import fit_and_evaluate, run_script, tiny_fit

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


def _success_rate(env: gymnasium.Env, episodes: int, scripted: bool) -> float:
    """Fraction of seeded episodes (seeds 0..episodes-1) that end with ``is_success``."""
    env.action_space.seed(0)
    successes = 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        while True:
            action = env.unwrapped.oracle_action(obs) if scripted else env.action_space.sample()
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


@pytest.fixture
def base_env() -> gymnasium.Env:
    """A fresh env for each test: Bullet keeps contact caches across resets, so a shared one
    would make a test's physics depend on the tests that ran before it."""
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


# Layouts (bump #1 y, bump #2 y, start y) with the original's figures, measured by running
# offpcc's UR5 + shovel env on the same layouts.
SOFT_PASS = (-0.1, 0.2, -0.25)  # 15 cm left of bump #1: over it in the 3rd and 4th steps
BETWEEN = (-0.15, 0.15)  # two bumps, the finger starts between them


def _bumps_moved(env: gymnasium.Env, layout: tuple[float, float, float]) -> np.ndarray:
    """How far (m) each bump moved along y since the layout was placed."""
    return np.array(env.unwrapped.bump_positions()) - np.array(layout[:2])


@pytest.mark.parametrize("stiffness_ratio, limit", [(-1.0, 0.0001), (-0.2, 0.0003)])
def test_soft_pass_leaves_the_left_bump_in_place(
    base_env: gymnasium.Env, stiffness_ratio: float, limit: float
) -> None:
    # The original: 0.00 mm at a1 = -1, 0.015 mm at a1 = -0.2 (the failure limit is 1 mm).
    base_env.reset(options={"layout": SOFT_PASS})
    thetas = []
    for _ in range(7):
        obs, reward, terminated, _, _ = base_env.step(np.array([1.0, stiffness_ratio]))
        thetas.append(float(obs[1]))
        assert not terminated and reward == 0.0
    assert obs[0] > SOFT_PASS[0] + 0.15, "the tip passed bump #1"
    assert abs(_bumps_moved(base_env, SOFT_PASS)[0]) <= limit
    # Bent back over the bump, theta < 0 moving right (original: -0.18, -0.50, -0.48, -0.01).
    assert thetas[2] < -0.1 and thetas[3] < -0.4 and thetas[4] < -0.4
    assert max(thetas) <= 0.01 and abs(thetas[-1]) <= 0.01, "straight again past the bump"


def test_blade_stays_straight_in_free_motion(base_env: gymnasium.Env) -> None:
    # The original's largest |theta| in free motion is 1e-5 (its blade's mass is at the hinge).
    base_env.reset(options={"layout": (-0.3, 0.3, -0.22)})
    actions = [[1.0, -1.0]] * 4 + [[0.3, 1.0]] + [[-1.0, 1.0]] * 4 + [[-0.5, 0.0]]
    for action in actions:
        obs, _, terminated, _, _ = base_env.step(np.array(action))
        assert abs(obs[1]) <= 0.01 and not terminated
    np.testing.assert_allclose(_bumps_moved(base_env, (-0.3, 0.3)), 0.0, atol=1e-9)


def test_hard_push_moves_the_bump_in_its_first_step(base_env: gymnasium.Env) -> None:
    # 5 cm left of bump #2, one full stiff step: the original pushes it 24.9 mm and succeeds.
    layout = (*BETWEEN, BETWEEN[1] - 0.05)
    base_env.reset(options={"layout": layout})
    obs, reward, terminated, _, info = base_env.step(np.array([1.0, 1.0]))
    bump1_moved, bump2_moved = _bumps_moved(base_env, layout)
    assert bump2_moved >= 0.015 and abs(bump1_moved) < 1e-6
    assert reward == 1.0 and terminated and info["is_success"] and obs[0] < BETWEEN[1] + bump2_moved


@pytest.mark.parametrize("start_y, steps", [(0.05, 2), (0.02, 3)])
def test_steps_to_success_from_between_the_bumps(
    base_env: gymnasium.Env, start_y: float, steps: int
) -> None:
    # Hard push right from 10 cm and 13 cm left of bump #2: 2 and 3 steps in the original.
    base_env.reset(options={"layout": (*BETWEEN, start_y)})
    taken, terminated = 0, False
    while not terminated and taken < 5:
        _, reward, terminated, _, info = base_env.step(np.array([1.0, 1.0]))
        taken += 1
    assert info["is_success"] and reward == 1.0 and taken == steps


def test_no_step_length_runs_no_physics(base_env: gymnasium.Env) -> None:
    # The original returns before any physics step when a0 == 0: a bent blade stays bent.
    base_env.reset(options={"layout": SOFT_PASS})
    for _ in range(4):
        bent, *_ = base_env.step(np.array([1.0, -1.0]))
    assert bent[1] < -0.4
    for stiffness_ratio in (-1.0, 1.0):
        obs, reward, terminated, _, _ = base_env.step(np.array([0.0, stiffness_ratio]))
        np.testing.assert_array_equal(obs, bent)
        assert reward == 0.0 and not terminated


def test_sweeping_right_softly_reaches_the_right_limit(base_env: gymnasium.Env) -> None:
    # Public API only. A stiffness of a1 = -0.2 is safe over a bump: the original reached the
    # limit in 17 of 20 resets (the others stall bent just short of it until truncation).
    reached = 0
    for seed in range(20):
        base_env.reset(seed=seed)
        while True:
            obs, _, terminated, truncated, _ = base_env.step(np.array([1.0, -0.2]))
            if terminated or truncated:
                break
        reached += bool(obs[0] >= 0.37)
    assert reached >= 15


@pytest.mark.parametrize("env_id, reward", [(BASE_ID, 1.0), (BUMPS_IDS[1], -1.0)])
def test_a_wrong_push_overrides_a_success_only_with_punish(env_id: str, reward: float) -> None:
    # Bump #1 placed just right of bump #2: the pushed bump #2 knocks it in the same step.
    layout = (0.062, 0.0, -0.026)
    env = gymnasium.make(env_id)
    env.reset(options={"layout": layout})
    obs, step_reward, terminated, _, info = env.step(np.array([1.0, 1.0]))
    bump1_moved, bump2_moved = _bumps_moved(env, layout)
    assert abs(bump1_moved) > 0.001 and bump2_moved > 0.01 and obs[0] < layout[1] + bump2_moved
    assert step_reward == reward and terminated and info["is_success"] == (reward == 1.0)
    env.close()


def test_mesh_inertia_reproduces_the_original_values() -> None:
    # getDynamicsInfo of the original's bump_40 and shovel blade (mesh bounding boxes).
    np.testing.assert_allclose(mesh_inertia(0.1, (0.04, 0.04, 0.04)), [1.058e-4] * 3, rtol=1e-3)
    np.testing.assert_allclose(
        mesh_inertia(0.02, (0.005, 0.025, 0.1525)), [1.3042e-4, 1.2622e-4, 5.41e-6], rtol=1e-3
    )


def test_scene_geometry(base_env: gymnasium.Env) -> None:
    base_env.reset(options={"layout": (-0.2, 0.2, 0.0)})
    env = base_env.unwrapped
    client, finger = env.scene.client, env.scene.finger
    # The blade collides as the original's 25 x 5 mm mesh grown by its 1 mm margin a side,
    # lowest point 14.9 mm above the ground, centre of mass at the hinge.
    (x_low, y_low, z_low), (x_high, y_high, _) = client.getAABB(finger, BLADE_JOINT)
    np.testing.assert_allclose([x_high - x_low, y_high - y_low, z_low], [0.027, 0.007, 0.0149])
    mass, _, inertia, com, *_ = client.getDynamicsInfo(finger, BLADE_JOINT)
    assert mass == 0.02 and com == (0.0, 0.0, 0.0)
    assert inertia[0] == pytest.approx(1.2622e-4, rel=1e-3)  # about the hinge axis
    mass, _, inertia, *_ = client.getDynamicsInfo(env.bump1, -1)
    assert mass == 0.1 and inertia == pytest.approx([1.058e-4] * 3, rel=1e-3)


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
    widest = 0.0
    for seed in range(100):
        obs, _ = env.reset(seed=seed)
        bump1_y, bump2_y = env.unwrapped.bump_positions()
        assert bump1_y >= -0.35 and bump2_y <= 0.35 and bump2_y - bump1_y >= 0.06 - 1e-6
        tip_y = float(obs[0])
        assert -0.4 <= tip_y <= 0.4
        assert abs(tip_y - bump1_y) >= 0.03 - 1e-6 and abs(tip_y - bump2_y) >= 0.03 - 1e-6
        widest = max(widest, abs(tip_y))
    assert widest > 0.38, "the original draws the start from the workspace's +-0.4"
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


def test_fidelity_benchmark_prints_ours_beside_the_original() -> None:
    out = run_script("bumps_fidelity.py", "--episodes", "3", "--speed-steps", "50")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split(" | ") for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == ["| measure", "original (UR5 + shovel)", "ours |"] and len(rows) == 13
    ours = {row[0][2:]: row[2].rstrip(" |") for row in rows[1:]}
    assert ours["steps to success from between the bumps (hard push right)"] == "2"
    assert "argv[0]" not in out.stdout


def test_failure_benchmark_accounts_for_every_episode_as_evaluate_scores_it(
    tmp_path: Path,
) -> None:
    run, report = fit_and_evaluate(tmp_path, "pbc-bumps-normal-pomdp-v0", episodes=6)
    successes = sum(episode["success"] for episode in report["episodes"])
    out = run_script("bumps_failures.py", str(run), "--episodes", "6")
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"success {int(successes)} / 6" in out.stdout
    rows = [line.split(" | ") for line in out.stdout.splitlines() if line.startswith("| ")]
    assert [row[0] for row in rows[1:]] == ["| left of both", "| between", "| right of both"]
    counts = [[int(cell.rstrip(" |")) for cell in row[1:]] for row in rows[1:]]
    assert sum(map(sum, counts)) == 6 and sum(row[0] for row in counts) == successes


def test_failure_benchmark_refuses_a_policy_of_another_task(tmp_path: Path) -> None:
    out = run_script("bumps_failures.py", str(tiny_fit(tmp_path)))
    assert out.returncode == 2 and "is not a two-bump task" in out.stderr
    assert "Traceback" not in out.stderr
