"""Policy export at the end of fit, ``load_policy`` without Lightning, ``offpcc-pl evaluate``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from offpcc_pl.errors import ConfigError
from offpcc_pl.policy import (
    ACTOR_FILE,
    POLICY_FILE,
    SUMMARIZER_FILE,
    describe,
    load_policy,
    resolve_policy_path,
)

ENV = {**os.environ, "WANDB_MODE": "offline"}
TINY = [
    "--trainer.max_epochs", "1",
    "--trainer.limit_train_batches", "40",
    "--model.update_after", "20",
    "--model.hidden_sizes", "[32,32]",
    "--model.eval_episodes", "1",
    "--trainer.enable_progress_bar", "false",
]  # fmt: skip
RUNS = {
    "SAC": ["--model", "SAC", "--model.env_id", "Pendulum-v1", "--model.batch_size", "16"],
    "RSAC": [
        "--model", "RSAC", "--model.env_id", "pbc-bumps-normal-pomdp-v0",
        "--model.batch_size", "2", "--model.summarizer_hidden", "16",
        "--model.summarizer_layers", "1", "--model.summarizer", "gru",
    ],
}  # fmt: skip


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``offpcc-pl ARGS`` in a process of its own, with this interpreter's package."""
    return subprocess.run(
        [sys.executable, "-m", "offpcc_pl", *args],
        cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def error_lines(stderr: str) -> list[str]:
    """stderr without pybullet's import banner."""
    return [line for line in stderr.splitlines() if line and "pybullet build time" not in line]


def last_logged(run_dir: Path, key: str) -> float:
    rows = []
    for path in sorted(run_dir.glob("csv/version_*/metrics.csv")):
        with path.open() as file:
            rows += [r for r in csv.DictReader(file) if r.get(key)]
    return float(rows[-1][key])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny SAC (Pendulum) and RSAC (bumps POMDP) trained concurrently by `offpcc-pl fit`."""
    root = tmp_path_factory.mktemp("runs")
    fit = [sys.executable, "-m", "offpcc_pl", "fit"]
    procs = {
        name: subprocess.Popen(
            [*fit, *args, *TINY, "--trainer.default_root_dir", str(root / name)],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for name, args in RUNS.items()
    }
    for proc in procs.values():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
    return {name: root / name for name in RUNS}


def test_fit_end_exports_the_policy(runs: dict[str, Path]) -> None:
    sac, rsac = runs["SAC"] / "policy", runs["RSAC"] / "policy"
    assert (sac / ACTOR_FILE).is_file() and not (sac / SUMMARIZER_FILE).exists()
    assert (rsac / ACTOR_FILE).is_file() and (rsac / SUMMARIZER_FILE).is_file()
    spec = yaml.safe_load((sac / POLICY_FILE).read_text())
    assert spec["algorithm"] == "SAC" and spec["env_id"] == "Pendulum-v1"
    assert (spec["obs_dim"], spec["act_dim"], spec["hidden_sizes"]) == (3, 1, [32, 32])
    assert spec["summarizer"] is None and spec["env_steps"] == 40
    spec = yaml.safe_load((rsac / POLICY_FILE).read_text())
    assert spec["algorithm"] == "RSAC" and spec["env_id"] == "pbc-bumps-normal-pomdp-v0"
    assert spec["summarizer"] == {"kind": "gru", "layers": 1, "hidden_size": 16}


LOAD_WITHOUT_LIGHTNING = """
import sys, numpy as np, offpcc_pl
run = sys.argv[1]
exported = offpcc_pl.load_policy(run + "/policy")
from_ckpt = offpcc_pl.load_policy(run + "/last.ckpt")
assert "pytorch_lightning" not in sys.modules and "lightning" not in sys.modules
rng = np.random.default_rng(0)
for policy in (exported, from_ckpt):
    policy.reset()
obs = rng.normal(size=(6, exported.spec.obs_dim)).astype(np.float32)
a = np.stack([exported(o) for o in obs]); b = np.stack([from_ckpt(o) for o in obs])
assert a.shape == (6, exported.spec.act_dim) and a.dtype == np.float32, a.shape
assert np.array_equal(a, b) and np.all(np.abs(a) <= 1)
exported.reset()
assert np.array_equal(exported(obs[0]), a[0])  # reset forgets the history
if exported.recurrent:  # the hidden state is carried: the same obs later acts differently
    assert not np.array_equal(a[0], exported(obs[0]))
print("ok", exported)
"""


@pytest.mark.parametrize("name", list(RUNS))
def test_load_policy_without_lightning(runs: dict[str, Path], name: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_LIGHTNING, str(runs[name])],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok Policy(" + name)


def direct_returns(path: Path, episodes: int) -> list[float]:
    """Evaluation written from scratch with load_policy, seeds as in the validation loop."""
    from offpcc_pl.envs.make import TEST_SEED, make_env

    policy = load_policy(path)
    env = make_env(policy.env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=TEST_SEED + i)
        policy.reset()
        total, done = 0.0, False
        while not done:
            obs, rew, terminated, truncated, _ = env.step(policy(obs))
            total += float(rew)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


@pytest.mark.parametrize("name", list(RUNS))
def test_evaluate_matches_load_policy_and_validation(
    runs: dict[str, Path], name: str, tmp_path: Path
) -> None:
    run = runs[name]
    if name == "SAC":  # straight from the checkpoint
        source = ["--ckpt_path", str(run / "last.ckpt")]
    else:  # through `offpcc-pl export` into a fresh dir
        exported = tmp_path / "exported"
        out = cli("export", "--ckpt_path", str(run / "last.ckpt"), "--out", str(exported))
        assert out.returncode == 0, out.stderr[-3000:]
        assert (exported / SUMMARIZER_FILE).is_file()
        source = ["--policy", str(exported)]
    report = tmp_path / "eval.json"
    out = cli("evaluate", *source, "--episodes", "2", "--json", str(report))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "return (mean ± std)" in out.stdout and "length (mean)" in out.stdout
    if name == "RSAC":  # the bumps envs report info["is_success"]
        assert "success rate" in out.stdout
    result = json.loads(report.read_text())
    returns = [episode["episode_return"] for episode in result["episodes"]]
    assert returns == pytest.approx(direct_returns(run / "policy", 2), rel=1e-6, abs=1e-9)
    # episode 0 is the validation loop's episode (eval_episodes=1) after the last epoch
    assert returns[0] == pytest.approx(last_logged(run, "test/episode_return"), rel=1e-6)
    assert f"{np.mean(returns):.3f} ± {np.std(returns):.3f}" in out.stdout


def test_describe_reads_dims_from_weights() -> None:
    from offpcc_pl.nets import DeterministicActor, Summarizer

    actor = DeterministicActor(8, 2, [5, 7])
    encoder = Summarizer(4, "lstm", 8, 2)
    state = {f"actor.{k}": v for k, v in actor.state_dict().items()}
    state |= {f"actor_encoder.{k}": v for k, v in encoder.state_dict().items()}
    spec, actor_state, encoder_state = describe("RTD3", {"env_id": "E"}, state)
    assert (spec.obs_dim, spec.act_dim, spec.hidden_sizes, spec.actor) == (
        4, 2, [5, 7], "deterministic"
    )  # fmt: skip
    assert (spec.summarizer.kind, spec.summarizer.layers, spec.summarizer.hidden_size) == (
        "lstm", 2, 8
    )  # fmt: skip
    assert set(actor_state) == set(actor.state_dict())
    assert set(encoder_state) == set(encoder.state_dict())


def test_bad_paths_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_policy_path(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no exported policy"):
        resolve_policy_path(tmp_path)
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="corrupt or unreadable"):
        load_policy(tmp_path / "broken.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "empty.ckpt")
    with pytest.raises(ConfigError, match="holds no offpcc-pl actor"):
        load_policy(tmp_path / "empty.ckpt")


def test_wandb_logs_against_env_steps() -> None:
    """The fit callback makes time/env_steps wandb's x axis, without starting wandb here."""
    from types import SimpleNamespace

    from pytorch_lightning.loggers import WandbLogger

    from offpcc_pl.callbacks import WandbEnvStepAxis

    calls: list[tuple[str, dict]] = []
    run = SimpleNamespace(define_metric=lambda name, **kwargs: calls.append((name, kwargs)))

    class OfflineWandb(WandbLogger):
        def __init__(self) -> None:  # no wandb.init
            pass

        @property
        def experiment(self) -> SimpleNamespace:
            return run

    trainer = SimpleNamespace(loggers=[OfflineWandb()], is_global_zero=True)
    WandbEnvStepAxis().setup(trainer, None, "fit")
    assert calls == []  # not while the run is set up: a refusal there leaves no W&B run
    WandbEnvStepAxis().on_train_start(trainer, None)
    assert calls == [("time/env_steps", {}), ("*", {"step_metric": "time/env_steps"})]
