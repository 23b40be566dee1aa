"""The ``offpcc-pl envs`` table: every registered id with its spaces and time limit.

Observation and action sizes come from making each env once (make, read the spaces, close),
cached for the process. An id whose optional dependency is missing shows which extra
installs it instead of failing the whole listing.
"""

from __future__ import annotations

import functools
import re
import warnings

import gymnasium
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from offpcc_pl.envs import CATALOG
from offpcc_pl.envs.native_output import loads_mujoco, route_mujoco_warnings
from offpcc_pl.errors import ConfigError, close_matches

_EXTRA_PATTERN = re.compile(r"offpcc-pl\[(\w+)\]")


def _shape_text(space: gymnasium.Space) -> str:
    shape = getattr(space, "shape", None)
    if not shape:
        return type(space).__name__
    return "×".join(str(size) for size in shape)


@functools.cache
def space_dims(env_id: str) -> tuple[str, str]:
    """Observation and action shapes of ``env_id`` as text, e.g. ``("11", "2")``.

    Args:
        env_id: a registered id.

    Returns:
        ``(obs, act)``; both read ``"needs extra [dmc]"`` (say) when an optional dependency
        is missing, or ``"error: …"`` when the env cannot be made.
    """
    try:
        if loads_mujoco(gymnasium.spec(env_id)):
            route_mujoco_warnings()  # not to MUJOCO_LOG.TXT in the current directory
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gymnasium.make(env_id)
        try:
            return _shape_text(env.observation_space), _shape_text(env.action_space)
        finally:
            env.close()
    except gymnasium.error.DependencyNotInstalled as error:
        match = _EXTRA_PATTERN.search(str(error))
        text = f"needs extra [{match.group(1)}]" if match else "missing dependency"
        return text, text
    except Exception as error:  # a listing must not die on one broken env
        text = f"error: {type(error).__name__}"
        return text, text


def env_rows(family: str | None = None) -> list[dict]:
    """One row per id of :data:`offpcc_pl.envs.CATALOG`, in registration order.

    Args:
        family: keep only this family's ids (only those envs are made); None keeps all.

    Returns:
        Dicts with keys ``id``, ``family``, ``obs_dim``, ``act_dim`` (text),
        ``max_episode_steps`` (int or None) and ``hidden``.
    """
    rows = []
    for env_id, info in CATALOG.items():
        if family is not None and info.family != family:
            continue
        obs_dim, act_dim = space_dims(env_id)
        rows.append(
            {
                "id": env_id,
                "family": info.family,
                "obs_dim": obs_dim,
                "act_dim": act_dim,
                "max_episode_steps": info.max_episode_steps,
                "hidden": info.hidden,
            }
        )
    return rows


def print_env_table(family: str | None = None) -> None:
    """Print the registered ids as a rich table.

    Args:
        family: show only this family (e.g. ``"dmc"``); None shows all.

    Raises:
        ConfigError: if ``family`` is not a known family.
    """
    families = sorted({info.family for info in CATALOG.values()})
    if family is not None and family not in families:
        raise ConfigError(
            f"unknown family '{family}'{close_matches(family, families)}; choose one of "
            f"{', '.join(families)}, or none to list every id"
        )
    table = Table(title="offpcc-pl environments")
    # Ids are what users copy: never cut them; the other columns fold on a narrow terminal.
    table.add_column("id", no_wrap=True, style="bold")
    for column in ("family", "obs dim", "act dim", "episode limit", "hidden"):
        justify = "right" if column == "episode limit" else "left"
        table.add_column(column, justify=justify, overflow="fold")
    for row in env_rows(family):
        limit = row["max_episode_steps"]
        cells = (
            row["id"],
            row["family"],
            row["obs_dim"],
            row["act_dim"],
            "none" if limit is None else str(limit),
            row["hidden"] or "-",
        )
        table.add_row(*(escape(cell) for cell in cells))  # "[dmc]" is text, not rich markup
    console = Console()
    if not console.is_terminal:  # piped (e.g. to grep): do not squeeze to 80 columns
        console = Console(width=max(console.width, 160))
    console.print(table)
