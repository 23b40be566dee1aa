"""The registry of our env ids: each family's ``register()`` calls :func:`register_env`, which
registers an id with gymnasium and records what ``offpcc-pl envs`` shows of it.

Its own module, apart from the package that imports every family, so that a family imports
it without importing itself back through the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium


@dataclass(frozen=True)
class EnvInfo:
    """What `offpcc-pl envs` shows for one registered id."""

    env_id: str
    family: str
    hidden: str  # what the observation hides ("" for a fully observed task)
    max_episode_steps: int | None


CATALOG: dict[str, EnvInfo] = {}


def register_env(
    env_id: str,
    entry_point: str,
    *,
    family: str,
    hidden: str = "",
    max_episode_steps: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> None:
    """Register ``env_id`` with gymnasium and record it in :data:`CATALOG`.

    Args:
        env_id: gymnasium id, e.g. ``"pendulum-p-v0"``.
        entry_point: ``"module:callable"`` string, imported lazily by gymnasium.
        family: short family name shown by ``offpcc-pl envs``.
        hidden: what the observation hides, for the listing ("" when fully observed).
        max_episode_steps: time limit (truncation), or None for the env's own end only.
        kwargs: constructor arguments.
    """
    if env_id not in gymnasium.registry:
        gymnasium.register(
            id=env_id,
            entry_point=entry_point,
            max_episode_steps=max_episode_steps,
            kwargs=kwargs or {},
        )
    CATALOG[env_id] = EnvInfo(env_id, family, hidden, max_episode_steps)
