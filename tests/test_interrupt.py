"""No lost work, through the console script: interruptions, time-based saves, build-time and
foreign-checkpoint errors, best.ckpt contents, and the noise users no longer read."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from offpcc_pl.algorithms import SAC
from offpcc_pl.checkpointing.savers import LastCheckpoint
from offpcc_pl.errors import Interrupted
from offpcc_pl.loop import find_replay
from tests.conftest import SIGINT_IGNORED, run_cli, tiny_args, wait_for_file
from tests.test_loop import quiet_trainer

DRILL = Path(__file__).parents[1] / "benchmarks" / "interrupt_drill.py"


def drill(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DRILL), "--dir", str(tmp_path), *flags],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_interrupted_run_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    """SIGINT, SIGTERM and SIGKILL once each at random moments (exit 130 / 143 / -9)."""
    out = drill(tmp_path, "--interrupts", "3", "--epochs", "2", "--steps", "200")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "drill passed" in out.stdout


@pytest.mark.slow
def test_interruption_drill_five_times(tmp_path: Path) -> None:
    out = drill(tmp_path, "--interrupts", "5")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_time_based_save_writes_last_checkpoint_mid_epoch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = SAC(hidden_sizes=(8, 8), batch_size=4, update_after=20, eval_episodes=1)
    trainer = quiet_trainer(50, default_root_dir=tmp_path)
    trainer.callbacks.append(LastCheckpoint(every_minutes=1e-9))  # due after every batch
    with caplog.at_level(logging.INFO):
        trainer.fit(module)
    assert "weights_only" not in caplog.text  # no Lightning chatter at each save
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert ckpt["callbacks"]["ReplayCallback"]["env_steps"] == 50
    assert ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 0  # mid-epoch


class SignalAtEpochEnd(Callback):
    """Sends this process ``signum`` at the end of train epoch ``epoch``."""

    def __init__(self, signum: int, epoch: int) -> None:
        self.signum, self.epoch = signum, epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), self.signum)


def signalled_fit(tmp_path: Path, signum: int, epoch: int) -> pl.Trainer:
    """Two epochs of 30 env steps with ``signum`` at the end of ``epoch``."""
    module = SAC(hidden_sizes=(8, 8), batch_size=4, update_after=20, eval_episodes=1)
    trainer = quiet_trainer(30, max_epochs=2, default_root_dir=tmp_path)
    trainer.callbacks += [LastCheckpoint(every_minutes=0), SignalAtEpochEnd(signum, epoch)]
    trainer.fit(module)
    return trainer


def handlers() -> dict[int, object]:
    return {s: signal.getsignal(s) for s in LastCheckpoint.SIGNALS}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_an_epoch_end_is_served_after_the_next_batch(tmp_path: Path, signum: int) -> None:
    """Not Lightning's SIGTERM handling, which ends the run at the epoch end with exit 0."""
    before = handlers()
    with pytest.raises(Interrupted) as stopped:
        signalled_fit(tmp_path, signum, epoch=0)
    assert stopped.value.signum == signum
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert ckpt["callbacks"]["ReplayCallback"]["env_steps"] == 31
    assert handlers() == before


def test_signal_after_the_last_batch_lets_the_finished_run_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = handlers()
    with caplog.at_level(logging.INFO):
        trainer = signalled_fit(tmp_path, signal.SIGTERM, epoch=1)
    assert "SIGTERM came after the last train batch" in caplog.text
    assert find_replay(trainer).env_steps == 60
    assert handlers() == before


def test_sigint_is_served_when_fit_starts_with_it_ignored(tmp_path: Path) -> None:
    """A fit started as a script's background job starts (SIGINT ignored) still saves
    last.ckpt at a SIGINT and exits 130."""
    steps = 2000
    cmd = [*SIGINT_IGNORED, "-m", "offpcc_pl", "fit", *tiny_args("SAC")]
    cmd += ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", str(steps)]
    cmd += ["--last_checkpoint.every_minutes", "0.005", "--trainer.default_root_dir", "run"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wait_for_file(tmp_path / "run" / "last.ckpt", proc)  # a timed save: it is training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, err[-3000:]
    saved = re.search(r"interrupted by SIGINT at env step (\d+)", err)
    assert saved and 0 < int(saved[1]) < steps, err[-3000:]
    ckpt = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    assert ckpt["callbacks"]["ReplayCallback"]["env_steps"] == int(saved[1])


def test_every_command_takes_sigint_even_when_started_with_it_ignored() -> None:
    """A SIGINT before training starts stops the command too (KeyboardInterrupt, as in a
    terminal) instead of being dropped while the fit goes on to train the whole run."""
    from offpcc_pl.cli import serve_sigint

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve_sigint()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, own := lambda *_: None)
        serve_sigint()  # a handler the caller installed stays
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


BUILD_ERRORS = {
    "discrete actions": (["--model.env_id", "CartPole-v1"], "CartPole-v1"),
    "burn-in without window": (["--model", "RSAC", "--model.burn_in", "5"], "window"),
}


@pytest.mark.parametrize("case", BUILD_ERRORS)
def test_errors_while_building_are_one_line_exit_2(case: str, workdir: Path) -> None:
    flags, named = BUILD_ERRORS[case]
    base = [] if "--model" in flags else ["--model", "SAC"]
    out = run_cli("fit", *base, *flags, "--trainer.enable_progress_bar", "false", cwd=workdir)
    lines = [line for line in out.stderr.splitlines() if "error" in line.lower()]
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(lines) == 1 and named in lines[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "Namespace" not in out.stderr
    assert list(workdir.iterdir()) == []


def test_checkpoint_of_another_run_is_refused_naming_both_sides(workdir: Path) -> None:
    first = run_cli(
        "fit", *tiny_args("TD3"), "--trainer.max_epochs", "1", "--model.update_after", "50",
        "--trainer.default_root_dir", "td3", cwd=workdir,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
    for flags, named in (
        (["--model", "SAC"], "algorithm 'TD3' there, 'SAC' here"),
        (["--model", "TD3", "--model.hidden_sizes", "[32,32]"], "[16, 16] there, [32, 32] here"),
    ):
        out = run_cli(
            "fit", *flags, "--model.env_id", "Pendulum-v1", "--ckpt_path", "td3/last.ckpt",
            "--trainer.default_root_dir", "sac", cwd=workdir,
        )  # fmt: skip
        lines = [line for line in out.stderr.splitlines() if "error" in line.lower()]
        assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
        assert named in lines[0] and "another run" in lines[0]
    assert sorted(p.relative_to(workdir) for p in workdir.rglob("*")) == before


def test_best_checkpoint_is_weights_only_and_still_usable(workdir: Path) -> None:
    out = run_cli(
        "fit", *tiny_args("SAC"), "--trainer.max_epochs", "1", "--model.update_after", "40",
        "--trainer.default_root_dir", "run", cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    best = torch.load(workdir / "run/best.ckpt", weights_only=True)
    assert "state_dict" in best and best["hyper_parameters"]["env_id"] == "Pendulum-v1"
    assert not {"callbacks", "optimizer_states"} & set(best)  # no replay buffer, no Adam
    for command in (["evaluate", "--episodes", "1"], ["export", "--out", "exported"]):
        used = run_cli(*command, "--ckpt_path", "run/best.ckpt", cwd=workdir)
        assert used.returncode == 0, used.stderr[-2000:]
    assert (workdir / "exported/actor.pth").is_file()


def test_what_users_read_is_free_of_noise(workdir: Path) -> None:
    help_out = run_cli("--help", cwd=workdir)
    assert help_out.returncode == 0 and "predict" not in help_out.stdout
    # a warm-up-only epoch with the progress bar on: it must count env steps (60/60)
    out = run_cli(
        "fit", "--config", str(Path(__file__).parents[1] / "configs/rsac_bumps.yaml"),
        "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "60",
        "--model.update_after", "1000", "--model.summarizer_hidden", "8",
        "--model.hidden_sizes", "[8,8]", "--model.eval_episodes", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "true", cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert "60/60" in text, text[-2000:]
    assert "litlogger" not in text.lower() and "argv[0]" not in text
