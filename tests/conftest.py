"""Shared test helpers: run the console script in a process of its own with quiet, fast
settings."""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.forkserver import ForkServer

# Small nets on 2 cores: one intra-op thread avoids OpenMP spin contention between
# processes (measured 15x faster on a loaded machine); no wandb account or network.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WANDB_MODE", "offline")

TINY = [
    "--model.update_after",
    "30",
    "--model.eval_episodes",
    "1",
    "--model.hidden_sizes",
    "[16,16]",
    "--model.batch_size",
    "8",
    "--trainer.limit_train_batches",
    "60",
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.logger",
    "false",
]
TINY_RECURRENT = [
    "--model.summarizer_hidden",
    "8",
    "--model.summarizer_layers",
    "1",
    "--model.batch_size",
    "2",
]


# Recurrent agents sample complete episodes only: a 10-step-episode POMDP (the car flag,
# `-top` version) gives them updates within a tiny run.
RECURRENT_ENV = "car-top-v0"


def env_for(algo: str) -> str:
    return RECURRENT_ENV if algo.startswith("R") else "Pendulum-v1"


def tiny_args(algo: str) -> list[str]:
    """Flags for a seconds-long run of ``algo``."""
    args = ["--model", algo, "--model.env_id", env_for(algo), *TINY]
    return args + TINY_RECURRENT if algo.startswith("R") else args


# The skips that say something about the machine, not about the install. Any other skip (a
# missing extra, no offscreen GL) would hide a broken install, so it fails the run.
NO_CUDA = "needs a CUDA device"
HAS_CUDA = "this machine has a CUDA GPU"
EXPECTED_SKIPS = frozenset({NO_CUDA, HAS_CUDA})


def _fail_unexpected_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Make ``report`` a failure when it is a skip whose reason is not an expected one."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason not in EXPECTED_SKIPS:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped for '{reason}': a skip that is not one of {sorted(EXPECTED_SKIPS)} "
            "hides a broken install; install the extras (README) or fix the test"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    _fail_unexpected_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Module-level skips too (``pytest.importorskip`` at the top of a test file)."""
    report = yield
    _fail_unexpected_skip(report)
    return report


@pytest.fixture(autouse=True)
def _environment_put_back() -> Iterator[None]:
    """Restore ``os.environ`` after each test: commands run in-process set defaults for
    their renderers (``MUJOCO_GL``, ``SDL_VIDEODRIVER``) that would reach every later test
    and the processes it starts."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


_server: ForkServer | None = None
_SESSION_ENV = dict(os.environ)  # not what the test that happens to start the server patched


def run_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``offpcc-pl ARGS`` in a process of its own (forked from a warm server where the OS can
    fork, see tests/forkserver.py), with the test's environment."""
    global _server
    env = dict(os.environ)
    if not hasattr(os, "fork"):
        cmd = [sys.executable, "-m", "offpcc_pl", *args]
        return subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    if _server is None:
        _server = ForkServer(cwd=Path(__file__).parents[1], env=_SESSION_ENV)
        atexit.register(_server.close)
    return _server.run(list(args), cwd=cwd, env=env, timeout=timeout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def tiny_fit(tmp_path: Path, env_id: str | None = None) -> Path:
    """A one-epoch tiny SAC run in ``tmp_path/run`` (on SAC's test env unless ``env_id``)."""
    run = tmp_path / "run"
    fit = run_cli(
        "fit", "--model", "SAC", "--model.env_id", env_id or env_for("SAC"), *TINY,
        "--trainer.max_epochs", "1", "--trainer.default_root_dir", str(run), cwd=tmp_path,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    return run


def fit_and_evaluate(tmp_path: Path, env_id: str, episodes: int) -> tuple[Path, dict]:
    """:func:`tiny_fit` on ``env_id``, and the report of ``offpcc-pl evaluate --json`` over
    ``episodes`` evaluation episodes of its policy."""
    run, report = tiny_fit(tmp_path, env_id), tmp_path / "evaluate.json"
    evaluate = run_cli(
        "evaluate", "--policy", str(run), "--episodes", str(episodes), "--json", str(report),
        cwd=tmp_path,
    )  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    return run, json.loads(report.read_text())


BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run_script(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python benchmarks/NAME ARGS`` in a process of its own; its output as text."""
    cmd = [sys.executable, str(BENCHMARKS / name), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def load_script(path: Path) -> ModuleType:
    """A script of ``benchmarks/`` as a module, to test its functions."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


# Prefix of a command that starts it as a script's background job starts: with SIGINT
# ignored, which the process inherits through exec.
SIGINT_IGNORED = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])",
    sys.executable,
]


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until ``path`` exists; fails when ``proc`` ends first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            assert path.exists(), f"exit {proc.returncode} before {path} was written"
            return
        assert time.monotonic() < deadline, f"{path} not written within {timeout} s"
        time.sleep(0.02)
