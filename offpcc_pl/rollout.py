"""Playing one evaluation episode: the one loop that validation, evaluate, render and record use.

Evaluation episode i resets with seed ``TEST_SEED + i``, apart from the training RNGs, so
``offpcc-pl evaluate`` reproduces the logged ``test/episode_return``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import gymnasium


class Actor(Protocol):
    """What plays an episode: ``reset()`` at its start, then one action per observation."""

    def reset(self) -> None: ...

    def __call__(self, obs: np.ndarray) -> np.ndarray: ...


@dataclass
class EpisodeResult:
    """Outcome of one episode."""

    episode_return: float
    length: int
    success: float | None  # info["is_success"] at the end, where the env reports it

    def test_metrics(self) -> dict[str, float]:
        """The ``test/*`` keys the validation loop logs."""
        metrics = {"test/episode_return": self.episode_return, "test/episode_length": self.length}
        if self.success is not None:
            metrics["test/success_rate"] = self.success
        return {k: float(v) for k, v in metrics.items()}


def play_episode(
    policy: Actor,
    env: gymnasium.Env,
    seed: int,
    max_steps: int | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> EpisodeResult:
    """Play one episode from ``env.reset(seed=seed)``.

    Args:
        policy: acts on each observation; reset here.
        env: made with :func:`offpcc_pl.envs.make.make_env` (actions in [-1, 1]).
        seed: reset seed (evaluation episode i uses ``TEST_SEED + i``).
        max_steps: stop after this many steps (None: until terminated or truncated).
        on_frame: receives ``env.render()`` after the reset and after every step.
    """
    obs, info = env.reset(seed=seed)
    policy.reset()
    if on_frame is not None:
        on_frame(env.render())
    total, length, done = 0.0, 0, False
    while not done:
        obs, rew, terminated, truncated, info = env.step(policy(obs))
        total += float(rew)
        length += 1
        if on_frame is not None:
            on_frame(env.render())
        done = terminated or truncated or (max_steps is not None and length >= max_steps)
    success = float(info["is_success"]) if "is_success" in info else None
    return EpisodeResult(total, length, success)
