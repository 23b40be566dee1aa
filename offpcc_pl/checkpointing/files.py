"""Checkpoint files without Lightning: reading one as plain data, writing any file atomically,
and what a checkpoint must hold to continue a run (its run identity, the replay state).

An exported policy loads through here (``offpcc_pl.policy``), so nothing here imports
Lightning.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from typing import IO, Any

import torch

from offpcc_pl.errors import CheckpointError, ConfigError

# What a checkpoint must share with the run that loads it: the algorithm, the env and
# every option that changes a network's shape. Another run's checkpoint is refused with a
# message naming both sides, rather than loaded into mismatched networks or resumed as if it
# were this run.
IDENTITY_KEYS = (
    "env_id",
    "hidden_sizes",
    "summarizer",
    "summarizer_layers",
    "summarizer_hidden",
    "share_summarizer",
    "summarizer_inputs",
    "image_embedding",
)
# Lightning keeps each callback's state under its ``state_key``; the replay callback's
# (offpcc_pl.loop.ReplayCallback.state_key) is this, and every reader looks it up here.
REPLAY_STATE_KEY = "ReplayCallback"


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` whole or not at all.

    ``write(file)`` fills a temporary file in the same directory, which is flushed to disk
    and then renamed over ``path`` (atomic on POSIX and Windows). On any failure the
    temporary file is removed and ``path`` is as it was.
    """
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename: survives a power loss
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A Lightning checkpoint of ours, or a one-line :class:`CheckpointError`.

    Always ``weights_only=True``: a checkpoint holds tensors and plain Python values only,
    so loading one (from anyone) never runs code.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):  # e.g. "Unsupported operand": not a pickle
            raise CheckpointError(f"checkpoint '{path}' is corrupt or unreadable") from None
        found = [line for line in str(err).splitlines() if "Unsupported global" in line]
        what = found[0].split("Unsupported", 1)[1].split(" was not")[0] if found else ""
        raise CheckpointError(
            f"checkpoint '{path}' holds more than tensors and plain data, refused "
            f"({'unsupported' + what if what else 'not loadable with weights_only=True'})"
        ) from None
    except Exception as err:  # noqa: BLE001 - any other load failure means an unusable file
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt or unreadable ({err.__class__.__name__})"
        ) from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointError(f"checkpoint '{path}' is not a Lightning checkpoint of offpcc-pl")
    return checkpoint


def replay_state(checkpoint: dict[str, Any]) -> Any:
    """The replay callback's state in ``checkpoint`` (``{}`` where it holds none)."""
    return (checkpoint.get("callbacks") or {}).get(REPLAY_STATE_KEY, {})


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


def run_identity(algorithm: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """``{"algorithm": ..., "env_id": ..., ...}``: the keys two runs must agree on."""
    identity = {"algorithm": algorithm}
    identity.update({k: _plain(hparams[k]) for k in IDENTITY_KEYS if k in hparams})
    return identity


def check_same_run(checkpoint: dict[str, Any], identity: dict[str, Any], where: str) -> None:
    """Refuse, in one line naming both sides, a checkpoint of another algorithm, env or size
    (every checkpoint the modules write holds the identity of its run)."""
    saved = checkpoint.get("run_identity")
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"{where}: the checkpoint holds no run identity, which offpcc-pl writes into "
            "every checkpoint of a run; use a run's last.ckpt or best.ckpt"
        )
    diffs = [
        f"{key} {saved.get(key)!r} there, {value!r} here"
        for key, value in identity.items()
        if key in saved and saved[key] != value
    ]
    if diffs:
        raise CheckpointError(
            f"{where}: the checkpoint is from another run ({'; '.join(diffs)}); start a new "
            "run directory or resume with the checkpoint's own config"
        )


def check_checkpoint_file(path: str, takes: str, instead: str) -> None:
    """``--ckpt_path PATH`` names a checkpoint file that exists, or is refused in one line.

    Args:
        path: the value given.
        takes: what ``--ckpt_path`` accepts in this command, e.g. ``"last, best or a
            checkpoint file"``.
        instead: the other way out for a directory, e.g. ``"or last / best"``.
    """
    if os.path.isdir(path):
        example = os.path.join(path, "last.ckpt")
        raise ConfigError(
            f"--ckpt_path '{path}' is a directory; give a checkpoint file (e.g. {example}) "
            f"{instead}"
        )
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint '{path}' does not exist (--ckpt_path takes {takes})")
