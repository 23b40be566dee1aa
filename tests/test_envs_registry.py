"""Contract test over every registered id: spaces, dtypes, seeding, time limits, close.

Parametrized over :data:`offpcc_pl.envs.CATALOG`, so ids added by any family are covered.
Every id is made: the tests install every extra (README), so a missing one is a failure.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from offpcc_pl.envs import CATALOG

NUM_STEPS = 3


def rollout(env: gymnasium.Env, seed: int) -> list[np.ndarray]:
    """Observations of a reset with ``seed`` and up to 3 seeded random steps."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations = [obs]
    for _ in range(NUM_STEPS):
        obs, rew, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert np.isfinite(float(rew)) and isinstance(info, dict)
        observations.append(obs)
        if terminated or truncated:
            break
    return observations


@pytest.mark.parametrize("env_id", sorted(CATALOG))
def test_registered_env_contract(env_id: str) -> None:
    env = gymnasium.make(env_id)
    try:
        assert isinstance(env.observation_space, gymnasium.spaces.Box)
        assert isinstance(env.action_space, gymnasium.spaces.Box)
        assert env.spec.max_episode_steps == CATALOG[env_id].max_episode_steps
        observations = rollout(env, seed=123)
        images = "-img-" in env_id  # frames stay uint8 until the agent's encoder
        for obs in observations:
            assert obs.shape == env.observation_space.shape
            assert obs.dtype == env.observation_space.dtype == (np.uint8 if images else np.float32)
            assert env.observation_space.contains(obs), f"{env_id}: {obs} out of bounds"
        # Bullet keeps contact caches across resets of one env: a replay in the same env
        # agrees to float rounding there, exactly everywhere else.
        atol = 1e-5 if CATALOG[env_id].family in ("bumps", "locomotion") else 0.0
        for expected, actual in zip(observations, rollout(env, seed=123), strict=True):
            np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)
    finally:
        env.close()
