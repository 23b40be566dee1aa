"""No lost work: exact epochs, plain-data checkpoints, env state, splice-free
resume, divergence guard, CUDA RNG plumbing, best.ckpt contents and failed writes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from offpcc_pl.algorithms import RSAC, SAC
from offpcc_pl.checkpointing.files import check_same_run, read_checkpoint
from offpcc_pl.checkpointing.savers import AtomicCheckpointIO
from offpcc_pl.envs.make import make_env
from offpcc_pl.envs.state import env_state, load_env_state
from offpcc_pl.errors import CheckpointError, CheckpointWriteFailed, TrainingDiverged
from offpcc_pl.loop import ReplayCallback, global_rng_state, set_global_rng_state
from tests.test_loop import quiet_trainer


class SaveAtTrainEnd(pl.Callback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path)  # the env is still open here


class EpochEnds(pl.Callback):
    def __init__(self) -> None:
        self.env_steps: list[int] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.env_steps.append(pl_module.replay.env_steps)


@pytest.mark.parametrize("updates_per_step", [1, 2, 4])
def test_epochs_end_at_multiples_of_their_length(updates_per_step: int) -> None:
    module = SAC(hidden_sizes=(8, 8), batch_size=4, update_after=40, eval_episodes=1,
                 updates_per_step=updates_per_step)  # fmt: skip
    ends = EpochEnds()
    trainer = quiet_trainer(60, max_epochs=2)
    trainer.callbacks.append(ends)
    trainer.fit(module)
    assert ends.env_steps == [60, 120]
    assert module.n_updates == (120 - 40) * updates_per_step


def _step_all(env: gymnasium.Env, actions: np.ndarray) -> list[np.ndarray]:
    """Observation and reward of each step."""
    out = []
    for act in actions:
        obs, rew, *_ = env.step(act)
        out.append(np.append(obs, rew))
    return out


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "pendulum-p-v0", "car-top-v0", "Hopper-v5"])
def test_env_state_is_plain_data_and_restores_exactly(env_id: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    env = make_env(env_id)
    env.reset(seed=3)
    actions = rng.uniform(-1, 1, size=(30, *env.action_space.shape)).astype(np.float32)
    _step_all(env, actions[:10])
    state = env_state(env)
    torch.save(state, tmp_path / "env.pt")
    state = torch.load(tmp_path / "env.pt", weights_only=True)  # plain data only
    expected = _step_all(env, actions[10:])
    fresh = make_env(env_id)
    fresh.reset(seed=99)  # another episode: every bit of it must be overwritten
    load_env_state(fresh, state)
    np.testing.assert_array_equal(np.array(_step_all(fresh, actions[10:])), np.array(expected))


def test_env_state_refuses_another_env() -> None:
    state = env_state(make_env("Pendulum-v1"))
    with pytest.raises(CheckpointError, match="layers"):
        load_env_state(make_env("pendulum-p-v0"), state)


def test_bumps_resume_never_splices_episodes(tmp_path: Path) -> None:
    """RSAC on a bumps id: its env state is not saved, so the partial episode is dropped."""
    options = {"summarizer_hidden": 8, "summarizer_layers": 1, "hidden_sizes": (8, 8)}
    env_id = "pbc-bumps-normal-pomdp-v0"
    module = RSAC(env_id=env_id, update_after=10_000, **options)
    ckpt = tmp_path / "mid.ckpt"
    trainer = quiet_trainer(70)
    trainer.callbacks.append(SaveAtTrainEnd(ckpt))
    trainer.fit(module)
    state = read_checkpoint(ckpt)["callbacks"]["ReplayCallback"]
    saved = state["buffer"]
    assert state["env"] is None and saved["t"] > 0  # mid-episode, env state not saved
    stored_before = int(saved["lengths"].sum())
    trainer = quiet_trainer(250, max_epochs=2)
    trainer.fit(RSAC(env_id=env_id, update_after=10_000, **options), ckpt_path=ckpt)
    buffer = next(c for c in trainer.callbacks if isinstance(c, ReplayCallback)).buffer
    # The complete episodes and the 250 steps played after the resume are stored, not the
    # steps of the dropped one ...
    assert int(buffer.lengths[: buffer.size].sum()) + buffer.t == stored_before + 250
    # ... and the slot it occupied begins with the fresh episode's reset observation.
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    first_obs, _ = make_env(env_id).reset(seed=int(rng.integers(2**31)))
    np.testing.assert_array_equal(buffer.obs[saved["ptr"], 0], first_obs)


def test_rng_states_include_cuda_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plumbing with a stand-in CUDA on a CPU machine, the real generators on a GPU."""
    if torch.cuda.is_available():
        saved = global_rng_state()
        first = torch.randn(3, device="cuda")
        set_global_rng_state(saved)
        assert len(saved["cuda"]) == torch.cuda.device_count()
        assert torch.equal(torch.randn(3, device="cuda"), first)
        return
    states = [torch.arange(4, dtype=torch.uint8), torch.arange(4, 8, dtype=torch.uint8)]
    restored: list[torch.Tensor] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.extend)
    saved = global_rng_state()
    assert saved["cuda"] == states
    set_global_rng_state(saved)
    assert restored == states
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # resumed on fewer devices
    restored.clear()
    set_global_rng_state(saved)
    assert restored == states[:1]


def test_divergence_guard_checks_every_n_updates_and_names_the_loss() -> None:
    module = SAC(hidden_sizes=(8, 8), batch_size=4, update_after=20, eval_episodes=1)
    module.divergence_check_every = 10
    checks: list[int] = []
    real_update = module.update

    def update(batch):  # poison the rewards after 15 updates: every loss goes NaN
        if module.n_updates >= 15:
            batch.rew = batch.rew * float("nan")
        real_update(batch)

    module.update = update
    isfinite = torch.isfinite
    torch.isfinite = lambda t: checks.append(1) or isfinite(t)
    try:
        named_once = r"critic, actor and alpha losses became NaN/inf between updates 10 and 20"
        with pytest.raises(TrainingDiverged, match=named_once):
            quiet_trainer(100).fit(module)
    finally:
        torch.isfinite = isfinite
    assert len(checks) == 2  # one check (one host sync) per 10 updates, not one per update


def test_save_refuses_diverged_weights(tmp_path: Path) -> None:
    module = SAC(hidden_sizes=(8, 8), batch_size=4, update_after=20, eval_episodes=1)
    trainer = quiet_trainer(30)
    trainer.fit(module)
    trainer.save_checkpoint(tmp_path / "good.ckpt")
    module._sums["loss/alpha"] = torch.tensor(float("inf"))
    module.n_updates += 1
    with pytest.raises(TrainingDiverged, match="alpha loss"):
        trainer.save_checkpoint(tmp_path / "good.ckpt")
    assert read_checkpoint(tmp_path / "good.ckpt")["n_updates"] == 10


def test_failed_write_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)
    real_save = torch.save

    def disk_full(obj, file):  # half a file, then the disk is full
        file.write(b"x" * 100)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointWriteFailed, match="No space left on device.*intact"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.equal(read_checkpoint(path)["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary left


def test_checkpoint_with_code_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": gymnasium.spaces.Box(0, 1)}, path)
    with pytest.raises(CheckpointError, match=r"more than tensors and plain data") as err:
        read_checkpoint(path)
    assert "\n" not in str(err.value) and "Box" in str(err.value)


def test_unexpected_replay_state_is_one_clear_error() -> None:
    with pytest.raises(CheckpointError, match="replay state"):
        ReplayCallback.check_state({"buffer": {}, "extra": 1})


def test_checkpoint_without_a_run_identity_is_refused_in_one_line() -> None:
    identity = SAC(hidden_sizes=(8, 8)).identity()
    with pytest.raises(CheckpointError, match="'x.ckpt': .* holds no run identity") as err:
        check_same_run({"state_dict": {}}, identity, "checkpoint 'x.ckpt'")
    assert "\n" not in str(err.value)
