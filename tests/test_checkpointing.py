"""The checkpointing package: run directories named once for fit and multifit, the algorithm
names, the one atomic writer and the one key of the replay state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import pytest
from jsonargparse import Namespace

from offpcc_pl.algorithms import ALGORITHMS
from offpcc_pl.checkpointing.files import REPLAY_STATE_KEY, atomic_write, replay_state
from offpcc_pl.checkpointing.names import ALGORITHM_NAMES, algorithm_name, check_algorithm
from offpcc_pl.commands.multifit import plan_trials
from offpcc_pl.errors import ConfigError
from offpcc_pl.lightning_cli import root_dir
from offpcc_pl.loop import ReplayCallback


def fit_config(algorithm: str, env_id: str, seed: int) -> Namespace:
    """What LightningCLI makes of ``fit --model ALGORITHM --model.env_id ENV_ID``."""
    model = Namespace(class_path=f"offpcc_pl.algorithms.{algorithm}", init_args=Namespace())
    model.init_args.env_id = env_id
    trainer = Namespace(default_root_dir=None)
    return Namespace(model=model, trainer=trainer, seed_everything=seed, ckpt_path=None)


def test_fit_and_multifit_give_a_seed_the_same_run_directory(tmp_path: Path) -> None:
    fit_dir = root_dir(fit_config("RSAC", "pendulum-p-v0", 3), "fit")
    args = ["--model", "offpcc_pl.algorithms.RSAC", "--model.env_id", "pendulum-p-v0"]
    [trial] = plan_trials(args, [3], [{}], str(tmp_path))
    assert fit_dir == os.path.join("checkpoints", "pendulum-p-v0-RSAC", "seed3")
    assert Path(trial.run_dir) == (tmp_path / fit_dir).resolve()


def test_multifit_keeps_grid_points_apart_under_either_root(tmp_path: Path) -> None:
    args = ["--model", "SAC", "--model.env_id", "E"]
    grid = [{"model.lr": "0.001"}]
    [default_root] = plan_trials(args, [0], grid, str(tmp_path))
    own = [*args, "--trainer.default_root_dir", "runs"]
    [own_root] = plan_trials(own, [0], grid, str(tmp_path))
    assert Path(default_root.run_dir) == tmp_path / "checkpoints" / "E-SAC-lr=0.001" / "seed0"
    assert Path(own_root.run_dir) == tmp_path / "runs" / "lr=0.001" / "seed0"


def test_algorithm_names_are_the_algorithm_classes() -> None:
    assert tuple(ALGORITHMS) == ALGORITHM_NAMES
    assert algorithm_name("offpcc_pl.algorithms.RSAC") == "RSAC" == check_algorithm("RSAC")
    with pytest.raises(ConfigError, match=r"unknown algorithm 'SACC' \(did you mean: SAC"):
        check_algorithm("SACC")


def test_atomic_write_leaves_the_previous_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"old")

    def disk_full(file: IO[bytes]) -> None:
        file.write(b"half a file")
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, disk_full)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]  # no temporary left
    atomic_write(path, lambda file: file.write(b"new"))
    assert path.read_bytes() == b"new"


def test_the_replay_state_is_saved_and_read_under_one_key() -> None:
    assert ReplayCallback().state_key == REPLAY_STATE_KEY
    saved = {"state_dict": {}, "callbacks": {REPLAY_STATE_KEY: {"env_steps": 5}}}
    assert replay_state(saved) == {"env_steps": 5}
    assert replay_state({"state_dict": {}}) == {}
