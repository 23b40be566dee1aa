"""Tests for offpcc_pl.envs.reacher, .dmc, .locomotion and .listing."""

from __future__ import annotations

import sys

import gymnasium
import numpy as np
import pytest

import offpcc_pl  # noqa: F401  (registers the ids)
from offpcc_pl.envs import CATALOG, listing
from offpcc_pl.envs.reacher import GOAL_INDICES, POMDP_V1_INDICES


def _rollout(env: gymnasium.Env, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Observations (steps + 1, O) and rewards (steps,) under a fixed action sequence."""
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for act in actions.astype(np.float32):
        obs, rew, terminated, truncated, _ = env.step(act)
        observations.append(obs)
        rewards.append(rew)
        assert not terminated and not truncated
    return np.stack(observations), np.asarray(rewards)


# --- reacher ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "obs_dim"),
    [("reacher-mdp-v0", 11), ("reacher-pomdp-v0", 13), ("reacher-pomdp-v1", 9)],
)
def test_reacher_spaces(env_id: str, obs_dim: int) -> None:
    env = gymnasium.make(env_id)
    assert env.observation_space.shape == (obs_dim,)
    assert env.observation_space.dtype == np.float32
    assert env.action_space.shape == (2,)
    assert env.spec.max_episode_steps == 50
    obs, _ = env.reset(seed=0)
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32
    env.close()


def test_reacher_pomdp_shows_goal_only_first() -> None:
    mdp = gymnasium.make("reacher-mdp-v0")
    pomdp = gymnasium.make("reacher-pomdp-v0")
    mdp_obs, mdp_rew = _rollout(mdp, seed=3, steps=5)  # (6, 11), (5,)
    pomdp_obs, pomdp_rew = _rollout(pomdp, seed=3, steps=5)  # (6, 13), (5,)
    goal = list(GOAL_INDICES)
    # First observation: the full 11 dims plus two zero "last action" dims.
    np.testing.assert_array_equal(pomdp_obs[0, :11], mdp_obs[0])
    assert np.abs(pomdp_obs[0, [4, 5, 8, 9]]).min() > 0  # goal xy, fingertip - goal xy (z is 0)
    # Later: goal dims and the "last action" dims are zero, the rest as in the MDP.
    np.testing.assert_array_equal(pomdp_obs[1:, goal], 0.0)
    np.testing.assert_array_equal(pomdp_obs[:, 11:], 0.0)
    others = [i for i in range(11) if i not in GOAL_INDICES]
    np.testing.assert_array_equal(pomdp_obs[1:, others], mdp_obs[1:, others])
    np.testing.assert_array_equal(pomdp_rew, mdp_rew)

    v1 = gymnasium.make("reacher-pomdp-v1")
    v1_obs, _ = _rollout(v1, seed=3, steps=5)
    np.testing.assert_array_equal(v1_obs, pomdp_obs[:, list(POMDP_V1_INDICES)])
    for env in (mdp, pomdp, v1):
        env.close()


def test_reacher_reward_before_step_and_seeding() -> None:
    env = gymnasium.make("reacher-mdp-v0")
    obs, _ = env.reset(seed=5)
    act = np.array([0.5, -0.25], dtype=np.float32)
    next_obs, rew, *_ = env.step(act)
    # Original (gym Reacher-v2): distance measured before the step, fingertip - target = obs[8:11].
    expected = -np.linalg.norm(obs[8:11].astype(np.float64)) - np.square(act).sum()
    assert rew == pytest.approx(expected, abs=1e-6)
    assert obs[10] == 0.0  # z of fingertip - target (the dim v5 drops)
    first, _ = _rollout(env, seed=5, steps=3)
    again, _ = _rollout(env, seed=5, steps=3)
    np.testing.assert_array_equal(first, again)
    env.close()


# --- dm_control ------------------------------------------------------------------------------

DMC_DIMS = {
    "dmc-cartpole-balance-v0": (5, 1),
    "dmc-cartpole-balance-p-v0": (3, 1),
    "dmc-cartpole-balance-va-v0": (3, 1),
    "dmc-cartpole-balance-p-concat5-v0": (15, 1),
    "dmc-cartpole-balance-va-concat10-v0": (30, 1),
    "dmc-cartpole-swingup-v0": (5, 1),
    "dmc-cartpole-swingup-mdp-v0": (5, 1),
    "dmc-cartpole-swingup-p-v0": (3, 1),
    "dmc-cartpole-swingup-va-v0": (3, 1),
    "dmc-cartpole-swingup-p-concat5-v0": (15, 1),
    "dmc-cartpole-swingup-va-concat10-v0": (30, 1),
    "dmc-cartpole-swingup-pomdp-v0": (3, 1),
    "dmc-cartpole-swingup-mdp-concat5-v0": (25, 1),
    "dmc-cart2pole-v0": (8, 1),
    "dmc-cart3pole-v0": (11, 1),
    "dmc-pendulum-swingup-v0": (3, 1),
}


@pytest.mark.parametrize(("env_id", "dims"), DMC_DIMS.items())
def test_dmc_dims(env_id: str, dims: tuple[int, int]) -> None:
    env = gymnasium.make(env_id)
    assert (env.observation_space.shape[0], env.action_space.shape[0]) == dims
    assert env.spec.max_episode_steps == 200
    obs, _ = env.reset(seed=0)
    assert obs.shape == (dims[0],) and obs.dtype == np.float32
    env.close()


def test_dmc_variants_observe_the_right_entries() -> None:
    full_obs, _ = _rollout(gymnasium.make("dmc-cartpole-swingup-v0"), seed=1, steps=3)  # (4, 5)
    p_obs, _ = _rollout(gymnasium.make("dmc-cartpole-swingup-p-v0"), seed=1, steps=3)  # (4, 3)
    np.testing.assert_array_equal(p_obs, full_obs[:, :3])  # cart x, cos, sin
    va = gymnasium.make("dmc-cartpole-swingup-va-v0")
    obs, _ = va.reset(seed=1)
    np.testing.assert_array_equal(obs, [*full_obs[0, 3:], 0.0])  # velocities, zero action
    obs, *_ = va.step(np.array([0.7], dtype=np.float32))
    assert obs[-1] == pytest.approx(0.7)
    concat, _ = _rollout(gymnasium.make("dmc-cartpole-swingup-mdp-concat5-v0"), seed=1, steps=3)
    np.testing.assert_array_equal(concat[0, :20], 0.0)  # zero-padded after reset
    np.testing.assert_array_equal(concat[3].reshape(5, 5)[1:], full_obs)  # oldest first


def test_dmc_seeded_reset_is_reproducible() -> None:
    env_a = gymnasium.make("dmc-cartpole-swingup-v0")
    env_b = gymnasium.make("dmc-cartpole-swingup-v0")
    obs_a, rew_a = _rollout(env_a, seed=7, steps=4)
    obs_b, rew_b = _rollout(env_b, seed=7, steps=4)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    # Same env reseeded gives the same episode; another seed another start.
    obs_again, _ = _rollout(env_a, seed=7, steps=4)
    np.testing.assert_array_equal(obs_a, obs_again)
    other, _ = env_a.reset(seed=8)
    assert not np.array_equal(other, obs_a[0])
    # Unseeded resets after a seeded one continue deterministically.
    second_a, _ = env_a.reset()
    env_b.reset(seed=8)
    second_b, _ = env_b.reset()
    np.testing.assert_array_equal(second_a, second_b)


def test_dmc_frame_skip_sums_rewards() -> None:
    from offpcc_pl.envs.dmc import DMCEnv

    skip5 = DMCEnv("cartpole", "swingup", frame_skip=5)
    skip1 = DMCEnv("cartpole", "swingup", frame_skip=1)
    obs5, _ = skip5.reset(seed=2)
    obs1, _ = skip1.reset(seed=2)
    np.testing.assert_array_equal(obs5, obs1)
    act = np.array([0.4], dtype=np.float32)
    obs5, rew5, *_ = skip5.step(act)
    rewards = []
    for _ in range(5):
        obs1, rew1, *_ = skip1.step(act)
        rewards.append(rew1)
    assert rew5 == pytest.approx(sum(rewards), rel=1e-12)
    np.testing.assert_array_equal(obs5, obs1)
    assert skip5.metadata["render_fps"] == 20  # control timestep 0.01 s × 5


def test_dmc_episode_end_is_truncation() -> None:
    from offpcc_pl.envs.dmc import DMCEnv

    env = DMCEnv("pendulum", "swingup", frame_skip=5)  # no gymnasium TimeLimit: dm_control's own
    env.reset(seed=0)
    act = np.zeros(1, dtype=np.float32)
    ends = []
    for _ in range(200):
        _, _, terminated, truncated, _ = env.step(act)
        ends.append((terminated, truncated))
    assert ends[-1] == (False, True)  # dm_control's time limit: 1000 control steps / 5
    assert not any(terminated or truncated for terminated, truncated in ends[:-1])


def test_dmc_missing_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dm_control", None)  # import dm_control now fails
    with pytest.raises(gymnasium.error.DependencyNotInstalled, match=r"offpcc-pl\[dmc\]"):
        gymnasium.make("dmc-cartpole-swingup-v0")


def test_dmc_image_env() -> None:
    env = gymnasium.make("dmc-cartpole-balance-mdp-img-concat3-v0")
    assert env.observation_space.shape == (3, 84, 84)
    assert env.spec.max_episode_steps == 500
    obs, _ = env.reset(seed=0)  # needs an offscreen GL backend (EGL on a headless machine)
    # uint8 frames (a quarter of float32's replay memory): the agents' encoder scales them to
    # [0, 1] on the device
    assert obs.dtype == np.uint8 and obs.shape == (3, 84, 84)
    assert env.observation_space.dtype == np.uint8
    np.testing.assert_array_equal(obs[:2], 0)  # older frames zero after reset
    assert 0 < obs[2].mean() < 255
    rgb = env.unwrapped._render_image(84).astype(np.float32)  # (H, W, 3) of the same state
    gray = rgb @ np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # the original's weights
    assert np.abs(obs[2].astype(np.float32) - gray).max() <= 0.5 + 1e-3  # rounded, not scaled
    obs, *_ = env.step(np.zeros(1, dtype=np.float32))
    assert obs[1].mean() > 0
    env.close()


# --- pybullet locomotion ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "base_id", "act_dim"),
    [("halfcheetah-p-v0", "HalfCheetahBulletEnv-v0", 6), ("ant-p-v0", "AntBulletEnv-v0", 8)],
)
def test_locomotion_keeps_positions(env_id: str, base_id: str, act_dim: int) -> None:
    env = gymnasium.make(env_id)
    assert env.observation_space.shape == (20,) and env.action_space.shape == (act_dim,)
    assert env.spec.max_episode_steps == 1000
    obs, _ = env.reset(seed=0)
    base = gymnasium.make(base_id)
    base_obs, _ = base.reset(seed=0)
    indices = gymnasium.spec(env_id).kwargs["indices"]
    np.testing.assert_array_equal(obs, base_obs[indices])
    assert obs.dtype == np.float32
    env.close()
    base.close()


def test_locomotion_missing_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pybullet_envs_gymnasium", None)
    with pytest.raises(gymnasium.error.DependencyNotInstalled, match=r"offpcc-pl\[bullet\]"):
        gymnasium.make("ant-p-v0")


# --- listing ---------------------------------------------------------------------------------


def test_env_rows_report_spaces() -> None:
    rows = {row["id"]: row for row in listing.env_rows("reacher")}
    assert set(rows) == {"reacher-mdp-v0", "reacher-pomdp-v0", "reacher-pomdp-v1"}
    row = rows["reacher-pomdp-v1"]
    assert (row["family"], row["obs_dim"], row["act_dim"]) == ("reacher", "9", "2")
    assert row["max_episode_steps"] == 50 and "goal" in row["hidden"]


def test_env_rows_show_missing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    listing.space_dims.cache_clear()
    monkeypatch.setitem(sys.modules, "dm_control", None)
    try:
        rows = {row["id"]: row for row in listing.env_rows("dmc")}
        listing.print_env_table("dmc")
    finally:
        listing.space_dims.cache_clear()
    assert rows["dmc-cartpole-swingup-v0"]["obs_dim"] == "needs extra [dmc]"
    assert "needs extra [dmc]" in capsys.readouterr().out


def test_print_env_table_lists_every_id(capsys: pytest.CaptureFixture[str]) -> None:
    listing.print_env_table()
    out = capsys.readouterr().out
    for env_id in ("reacher-pomdp-v0", "dmc-cartpole-swingup-p-v0", "ant-p-v0", *CATALOG):
        assert env_id in out
    with pytest.raises(ValueError, match="unknown family"):
        listing.print_env_table("no-such-family")
