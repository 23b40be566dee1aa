"""What the simulators' C code writes on its own, kept out of the user's terminal and
directories.

- MuJoCo reports warnings through ``mju_warning``: without a user callback it prints them and
  appends them to ``MUJOCO_LOG.TXT`` in the current directory (MuJoCo's documented default,
  "mju_user_warning" in its programming guide). Gymnasium's ``half_cheetah.xml`` alone makes
  every HalfCheetah env warn that ``settotalmass`` is deprecated. :func:`route_mujoco_warnings`
  installs a callback: a deprecation in a library's model file is dropped (the user cannot act
  on it), any other warning (an unstable simulation, say) goes to the ``offpcc_pl.mujoco``
  logger, which prints it on stderr.
- pybullet prints its build time when imported and ``argv[0]=`` when a client connects, from
  C on the process's stdout and stderr: :func:`native_output_silenced` points those file
  descriptors at ``/dev/null`` around exactly these calls.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Iterator

import gymnasium

# Modules whose envs load MuJoCo models (entry points of registered ids, or their base ids).
MUJOCO_MODULES = (
    "gymnasium.envs.mujoco",
    "offpcc_pl.envs.dmc",
    "offpcc_pl.envs.mujoco_top",
    "offpcc_pl.envs.reacher",
)

logger = logging.getLogger("offpcc_pl.mujoco")


@contextlib.contextmanager
def native_output_silenced() -> Iterator[None]:
    """Send what C code writes to file descriptors 1 and 2 to ``/dev/null`` meanwhile.

    Python's own exceptions are unaffected: they propagate and are printed after the block.
    C's stdio buffers are flushed before the descriptors are restored: a ``printf`` into a
    buffered stdout (a file or pipe) would otherwise reach the terminal at exit.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    _flush_c_stdio()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_stdio()
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: write out every C stdio buffer (where there is a C library)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


def _entry_module(spec: gymnasium.envs.registration.EnvSpec) -> str:
    entry = spec.entry_point
    return entry.split(":", 1)[0] if isinstance(entry, str) else getattr(entry, "__module__", "")


def loads_mujoco(spec: gymnasium.envs.registration.EnvSpec) -> bool:
    """Whether making ``spec`` loads a MuJoCo model (itself or through the id it wraps)."""
    if _entry_module(spec).startswith(MUJOCO_MODULES):
        return True
    base_id = (spec.kwargs or {}).get("base_id")
    return (
        isinstance(base_id, str)
        and base_id in gymnasium.registry
        and loads_mujoco(gymnasium.spec(base_id))
    )


def _mujoco_warning(message: str) -> None:
    if "deprecated" in message:  # of a library's model file, which the user does not edit
        return
    logger.warning("MuJoCo: %s", message.strip())


def route_mujoco_warnings() -> None:
    """Take MuJoCo's warnings from its default handler (stdout and ``MUJOCO_LOG.TXT`` in the
    current directory) to :func:`_mujoco_warning`; without MuJoCo installed, do nothing
    (making the env then says which extra installs it)."""
    try:
        import mujoco
    except ImportError:
        return
    if mujoco.get_mju_user_warning() is None:  # a handler the user installed stays
        mujoco.set_mju_user_warning(_mujoco_warning)
