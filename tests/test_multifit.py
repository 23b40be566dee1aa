"""``offpcc-pl multifit``: seeds in sequence and on local Ray, resume of a killed trial, and
``offpcc-pl plot`` over the runs it made."""

from __future__ import annotations

import builtins
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from offpcc_pl.commands.multifit import (
    KILL_ENV,
    Trial,
    _raise_terminated,
    multifit_command,
    plan_trials,
    run_sequential,
)
from offpcc_pl.commands.runs import read_metric, version_files
from offpcc_pl.errors import ConfigError
from tests.conftest import SIGINT_IGNORED, wait_for_file

ENV = {**os.environ, "WANDB_MODE": "offline"}
STEPS_PER_EPOCH = 40
FIT = [
    "--model", "SAC",
    "--trainer.limit_train_batches", str(STEPS_PER_EPOCH),
    "--model.update_after", "20",
    "--model.batch_size", "16",
    "--model.hidden_sizes", "[32,32]",
    "--model.eval_episodes", "1",
    "--trainer.enable_progress_bar", "false",
]  # fmt: skip


def multifit(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "offpcc_pl", "multifit", *args], cwd=cwd, env=env or ENV,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out


def checkpoint_env_steps(run: Path) -> int:
    ckpt = torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)
    return ckpt["callbacks"]["ReplayCallback"]["env_steps"]


@pytest.fixture(scope="module")
def multifit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multifit")


@pytest.fixture(scope="module")
def sequential_runs(multifit_dir: Path) -> list[Path]:
    """2 seeds x 1 epoch, one after another, default run dirs (checkpoints/<env>-<algo>)."""
    multifit("--seeds", "0", "1", "--", *FIT, "--trainer.max_epochs", "1", cwd=multifit_dir)
    return [multifit_dir / "checkpoints" / "Pendulum-v1-SAC" / f"seed{k}" for k in (0, 1)]


@pytest.fixture(scope="module")
def ray_runs(multifit_dir: Path) -> tuple[list[Path], subprocess.CompletedProcess]:
    """2 seeds x 2 epochs on a local Ray with 2 CPUs; seed 0's first attempt is SIGKILLed as
    soon as its first epoch is checkpointed (``$OFFPCC_MULTIFIT_TEST_KILL``), so Tune retries
    it and the retry must resume from last.ckpt."""
    root = multifit_dir / "ray"
    out = multifit(
        "--seeds", "0", "1", "--ray", "--num_cpus", "2", "--max_failures", "1",
        "--", *FIT, "--trainer.max_epochs", "2", "--trainer.default_root_dir", str(root),
        cwd=multifit_dir, env={**ENV, KILL_ENV: "0"},
    )  # fmt: skip
    return [root / f"seed{k}" for k in (0, 1)], out


def test_sequential_two_seeds(sequential_runs: list[Path]) -> None:
    for seed, run in enumerate(sequential_runs):
        assert len(version_files(run)) == 1
        assert read_metric(run, "test/episode_return").x.tolist() == [STEPS_PER_EPOCH]
        assert (run / "last.ckpt").is_file() and (run / "policy" / "actor.pth").is_file()
        config = (run / "csv" / "version_0" / "config.yaml").read_text()
        assert f"seed_everything: {seed}" in config


def test_ray_two_seeds_and_killed_trial_resumes(ray_runs) -> None:
    (killed, clean), out = ray_runs
    assert "multifit" in out.stdout and "seed0" in out.stdout and "seed1" in out.stdout
    log = (killed / "fit.log").read_text()
    assert "killed after its first checkpoint" in log
    assert f"resuming from {killed / 'last.ckpt'}" in log
    assert "Restored all states from the checkpoint" in log
    # attempt 1 logged epoch 1 (version_0); the resumed attempt logged epoch 2 (version_1)
    assert len(version_files(killed)) == 2
    assert read_metric(killed, "test/episode_return").x.tolist() == [40, 80]
    assert checkpoint_env_steps(killed) == 2 * STEPS_PER_EPOCH
    assert "Restored" not in (clean / "fit.log").read_text()
    assert len(version_files(clean)) == 1 and checkpoint_env_steps(clean) == 2 * STEPS_PER_EPOCH
    for run in (killed, clean):
        assert (run / "policy" / "policy.yaml").is_file()


def test_plot_of_multifit_runs(
    multifit_dir: Path, sequential_runs: list[Path], ray_runs, tmp_path: Path
) -> None:
    png = tmp_path / "curves.png"
    out = subprocess.run(
        [sys.executable, "-m", "offpcc_pl", "plot", str(multifit_dir / "checkpoints"),
         str(multifit_dir / "ray"), "--out", str(png)],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Pendulum-v1-SAC: 2 runs" in out.stdout and "ray: 2 runs" in out.stdout
    with Image.open(png) as image:
        image.verify()
    assert png.stat().st_size > 10_000


def test_plan_run_dirs(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    trials = plan_trials(["--model", "RSAC", "--model.env_id", "E"], [0, 3], [{}], cwd)
    assert [t.run_dir for t in trials] == [
        str(tmp_path / "checkpoints" / "E-RSAC" / f"seed{k}") for k in (0, 3)
    ]
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  class_path: offpcc_pl.algorithms.TD3\n  init_args:\n"
                      "    env_id: Pendulum-v1\n")  # fmt: skip
    grid = [{"model.lr": "0.001"}, {"model.lr": "0.0003"}]
    trials = plan_trials(["--config", "c.yaml"], [1], grid, cwd)
    assert [Path(t.run_dir).relative_to(tmp_path).as_posix() for t in trials] == [
        "checkpoints/Pendulum-v1-TD3-lr=0.001/seed1",
        "checkpoints/Pendulum-v1-TD3-lr=0.0003/seed1",
    ]
    assert trials[0].command()[-6:] == [
        "--model.lr", "0.001", "--seed_everything", "1",
        "--trainer.default_root_dir", trials[0].run_dir,
    ]  # fmt: skip
    trials = plan_trials(["--model", "SAC", "--trainer.default_root_dir", "out"], [2], [{}], cwd)
    assert trials[0].run_dir == str(tmp_path / "out" / "seed2")
    (tmp_path / "out" / "seed2").mkdir(parents=True)
    (tmp_path / "out" / "seed2" / "last.ckpt").write_bytes(b"")
    assert trials[0].command()[-2:] == ["--ckpt_path", str(tmp_path / "out" / "seed2/last.ckpt")]
    for bad in (["--model", "SAC", "--seed_everything", "3"], ["--model", "SAC", "--ckpt_path",
                "last"], ["--trainer.max_epochs", "1"]):  # fmt: skip
        with pytest.raises(ConfigError):
            plan_trials(bad, [0], [{}], cwd)


def test_ray_missing_is_one_line_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    real_import = builtins.__import__

    def no_ray(name: str, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert multifit_command(["--seeds", "0", "--ray", "--", "--model", "SAC"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["offpcc-pl multifit: error: Ray is not installed: pip install 'offpcc-pl[ray]'"]


def test_dry_run_and_usage_errors(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--seeds", "0", "1", "--dry_run", "--", "--model", "SAC", "--trainer.max_epochs", "1"]
    assert multifit_command(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("offpcc-pl fit --model SAC")
    assert "--seed_everything 1" in lines[1]
    assert multifit_command(["--seeds", "0"]) == 2  # no fit args
    assert "put them after --" in capsys.readouterr().err
    assert multifit_command(["--", "--model", "SAC"]) == 2  # no seeds
    assert "--seeds" in capsys.readouterr().err


CTRL_C_STEPS = 800  # several seconds of training; the signal comes at its first timed save


def interrupt_first_seed(tmp_path: Path, launch: list[str]) -> tuple[Path, list[str]]:
    """Start ``multifit`` over seeds 0 and 1 with ``launch`` (the python that runs it), send
    it SIGINT once seed 0 is training, and check the interruption: exit 130, no retry, no
    next seed, last.ckpt saved by the interruption mid-epoch. Returns the runs' group
    directory and the multifit arguments."""
    args = ["--seeds", "0", "1", "--", *FIT, "--trainer.max_epochs", "1"]
    args += ["--trainer.limit_train_batches", str(CTRL_C_STEPS)]
    args += ["--last_checkpoint.every_minutes", "0.005"]  # a timed save: the fit is training
    proc = subprocess.Popen(
        [*launch, "-m", "offpcc_pl", "multifit", *args], cwd=tmp_path, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run = tmp_path / "checkpoints" / "Pendulum-v1-SAC"
    wait_for_file(run / "seed0" / "last.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, out[-3000:]
    assert "retrying" not in out, out[:6000]  # the first attempt's output
    assert "run the same command again to resume" in out, out[-3000:]
    saved = re.search(r"interrupted by SIGINT at env step (\d+)", out)
    assert saved and 0 < int(saved[1]) < CTRL_C_STEPS, out[-3000:]
    assert checkpoint_env_steps(run / "seed0") == int(saved[1])  # the interruption's save
    assert not (run / "seed1").exists()
    return run, args


def test_ctrl_c_is_passed_on_once_not_retried_and_resumable(tmp_path: Path) -> None:
    """SIGINT to multifit (a terminal's Ctrl-C: the fit runs in its own process group) reaches
    the fit once; it saves last.ckpt mid-epoch, multifit exits 130 without a retry and
    without starting the next seed, and the same command then finishes both."""
    run, args = interrupt_first_seed(tmp_path, [sys.executable])
    multifit(*args, cwd=tmp_path)
    steps = [checkpoint_env_steps(run / f"seed{k}") for k in (0, 1)]
    assert steps == [CTRL_C_STEPS, CTRL_C_STEPS]


def test_ctrl_c_reaches_a_multifit_started_with_sigint_ignored(tmp_path: Path) -> None:
    """As a script's background job starts: SIGINT ignored, inherited through exec."""
    interrupt_first_seed(tmp_path, SIGINT_IGNORED)


class _StopsAtOnce(Trial):
    """A "fit" that dies at the first SIGTERM with exit 1, as a fit signalled twice does
    (once by multifit, once by e.g. ``pkill -f`` matching both): it never saves. It writes
    ``ready`` once its handler is in place and ``stopped`` when the handler runs."""

    def command(self) -> list[str]:
        ready, stopped = (str(Path(self.run_dir, name)) for name in ("ready", "stopped"))
        script = "import pathlib, signal, sys, time\n"
        script += "def stop(*_):\n"
        script += f"    pathlib.Path({stopped!r}).touch()\n    sys.exit(1)\n"
        script += f"signal.signal(signal.SIGTERM, stop)\npathlib.Path({ready!r}).touch()\n"
        script += "time.sleep(60)"
        return [sys.executable, "-c", script]


def _signal_this_process_when(path: Path, signum: int, done: threading.Event) -> threading.Thread:
    """A thread that sends this process ``signum`` once ``path`` exists, unless ``done`` is
    set first."""

    def wait_then_signal() -> None:
        while not done.is_set():
            if path.exists():
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=wait_then_signal, daemon=True)
    thread.start()
    return thread


def test_a_user_stop_is_an_interruption_whatever_the_fit_exits_with(tmp_path: Path) -> None:
    """SIGTERM to multifit while its fit runs: the fit's exit 1 (not 143) is still the user's
    stop, so multifit neither retries it nor starts the next seed."""
    trials = [_StopsAtOnce(k, str(tmp_path / f"seed{k}"), [], str(tmp_path)) for k in (0, 1)]
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # as multifit installs it
    done = threading.Event()
    sender = _signal_this_process_when(tmp_path / "seed0" / "ready", signal.SIGTERM, done)
    try:
        results = run_sequential(trials, max_failures=1, kill_seeds=set())
    finally:
        done.set()
        sender.join()  # no signal after the handler is put back
        signal.signal(signal.SIGTERM, previous)
    assert (tmp_path / "seed0" / "stopped").is_file()  # the fit's own exit 1
    assert [row["returncode"] for row in results] == [128 + signal.SIGTERM]
    assert not (tmp_path / "seed1" / "ready").exists()
