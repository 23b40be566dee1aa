"""Where a run writes, and the algorithms by name: what ``fit``, ``multifit`` and a checkpoint
call a run, in one place.

The standard library only: ``offpcc-pl`` and ``multifit`` check a command line with it
before torch or Lightning is imported.
"""

from __future__ import annotations

import os

from offpcc_pl.errors import ConfigError, close_matches

# The algorithm classes of offpcc_pl.algorithms, by the short names `--model` accepts (the
# algorithms package holds its classes equal to these).
ALGORITHM_NAMES = ("DDPG", "TD3", "SAC", "RDPG", "RTD3", "RSAC")
# Where runs go unless --trainer.default_root_dir says otherwise, relative to the launch
# directory.
RUNS_DIR = "checkpoints"


def algorithm_name(class_path: str) -> str:
    """``SAC`` for ``SAC`` or ``offpcc_pl.algorithms.SAC``: a ``--model`` value, a config's
    ``class_path`` or a checkpoint's ``_class_path``, by the class's short name."""
    return class_path.rsplit(".", 1)[-1]


def check_algorithm(value: str) -> str:
    """The short name of the algorithm ``value`` names, or a one-line :class:`ConfigError`
    naming it and the six there are."""
    name = algorithm_name(value)
    if name not in ALGORITHM_NAMES:
        raise ConfigError(
            f"unknown algorithm '{value}'{close_matches(value, ALGORITHM_NAMES)}; "
            f"choose one of {', '.join(ALGORITHM_NAMES)}"
        )
    return name


def run_group(env_id: str, algorithm: str) -> str:
    """``<env>-<algo>``: the directory a setting's seeds share, and their W&B group."""
    return f"{env_id}-{algorithm}"


def run_directory(
    env_id: str, algorithm: str, seed: int | str, root: str | None = None, label: str = ""
) -> str:
    """The run directory of one seed.

    Args:
        env_id: the env the run trains on.
        algorithm: the algorithm's short name (:func:`algorithm_name`).
        seed: the run's ``--seed_everything``.
        root: a directory the user gave for the seeds of one setting (multifit's
            ``--trainer.default_root_dir``); None: under :data:`RUNS_DIR`.
        label: a grid point's values (``lr=0.001``), which keeps its seeds apart from the
            other points'.

    Returns:
        ``checkpoints/<env>-<algo>[-<label>]/seed<k>``, or ``<root>[/<label>]/seed<k>``.
    """
    if root is None:
        group = run_group(env_id, algorithm) + (f"-{label}" if label else "")
        return os.path.join(RUNS_DIR, group, f"seed{seed}")
    return os.path.join(root, label, f"seed{seed}")
