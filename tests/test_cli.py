"""End-to-end through the console script: fit, validate, exact resume, bad inputs."""

from __future__ import annotations

import csv
import glob
from pathlib import Path

import pytest
import torch

from tests.conftest import HAS_CUDA, env_for, run_cli, tiny_args

ALGORITHMS = ["DDPG", "TD3", "SAC", "RDPG", "RTD3", "RSAC"]


def test_console_script_is_installed() -> None:
    """The script beside this interpreter (the environment under test), not whichever
    ``offpcc-pl`` PATH finds first."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("offpcc-pl", path=str(Path(sys.executable).parent))
    assert exe, f"pip install -e . puts offpcc-pl beside {sys.executable}"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "fit" in out.stdout


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_fit_writes_checkpoints_and_csv_logs(algo: str, workdir: Path) -> None:
    out = run_cli("fit", *tiny_args(algo), "--trainer.max_epochs", "1", cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    run = workdir / "checkpoints" / f"{env_for(algo)}-{algo}" / "seed0"
    assert (run / "last.ckpt").is_file()
    with open(glob.glob(str(run / "csv/version_0/metrics.csv"))[0], newline="") as file:
        rows = list(csv.DictReader(file))
    logged = {k for row in rows for k, v in row.items() if v}
    assert {"test/episode_return", "loss/critic", "loss/actor", "time/env_steps"} <= logged
    if algo.endswith("SAC"):
        assert {"loss/alpha", "alpha"} <= logged
    if algo in ("SAC", "RSAC"):
        val = run_cli(
            "validate", *tiny_args(algo), "--ckpt_path", str(run / "last.ckpt"), cwd=workdir
        )
        assert val.returncode == 0, val.stderr[-2000:]
        assert "test/episode_return" in val.stdout


def replay_state(ckpt: dict) -> dict:
    return next(v for k, v in ckpt["callbacks"].items() if "ReplayCallback" in k)


@pytest.mark.parametrize("algo", ["DDPG", "TD3", "SAC", "RTD3", "RSAC"])
def test_resume_continues_exactly(algo: str, workdir: Path) -> None:
    assert_resume_is_exact(algo, workdir)


def assert_resume_is_exact(algo: str, workdir: Path, *extra: str, exact: bool = True) -> None:
    """Two epochs straight and one epoch then a resume end in equal weights and buffers
    (``exact=False``: at the same env step and update count)."""
    args = [*tiny_args(algo), "--trainer.limit_train_batches", "150", "--model.update_after", "40"]
    runs = {
        "straight": ["--trainer.max_epochs", "2"],
        "resumed": ["--trainer.max_epochs", "1"],
        "resumed ": ["--trainer.max_epochs", "2", "--ckpt_path", "last"],
    }
    for root, flags in runs.items():
        root_dir = ["--trainer.default_root_dir", root.strip()]
        out = run_cli("fit", *args, *extra, *flags, *root_dir, cwd=workdir)
        assert out.returncode == 0, out.stderr[-2000:]
    a = torch.load(workdir / "straight/last.ckpt", weights_only=True, map_location="cpu")
    b = torch.load(workdir / "resumed/last.ckpt", weights_only=True, map_location="cpu")
    assert replay_state(a)["env_steps"] == replay_state(b)["env_steps"] == 300
    assert a["n_updates"] == b["n_updates"] > 0
    if not exact:
        return
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    buffer_a, buffer_b = replay_state(a)["buffer"], replay_state(b)["buffer"]
    for key, value in buffer_a.items():
        same = (
            torch.equal(value, buffer_b[key]) if torch.is_tensor(value) else value == buffer_b[key]
        )
        assert same, key


BAD_INPUTS = {
    "unknown env": (["--model.env_id", "Pendulm-v1"], "Pendulum-v1"),
    "unknown algorithm": (["--model", "SACC"], "SAC"),
    "zero batch": (["--model.batch_size", "0"], "batch_size"),
    "negative steps": (["--trainer.max_epochs", "1", "--model.update_after", "-5"], "update_after"),
    "bad summarizer": (
        ["--model", "RSAC", "--model.summarizer", "transformer"],
        "--model.summarizer: 'transformer' is not allowed (expected 'lstm', 'gru' or 'rnn')",
    ),
    "negative lr": (["--model.lr", "-1"], "--model.lr: -1 is not allowed"),
    "misspelt option": (["--model.tua", "0.1"], "did you mean: tau?"),
    "several devices": (["--trainer.devices", "2"], "--trainer.devices 2"),
    "unknown accelerator": (["--trainer.accelerator", "tpu"], "--trainer.accelerator tpu"),
    "missing yaml": (["--config", "nope.yaml"], "nope.yaml"),
    "missing checkpoint": (["--ckpt_path", "missing.ckpt"], "missing.ckpt"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_nothing_written(case: str, workdir: Path) -> None:
    flags, named = BAD_INPUTS[case]
    base = ["--model", "SAC"] if "--model" not in flags else []
    out = run_cli("fit", *base, *flags, "--trainer.enable_progress_bar", "false", cwd=workdir)
    lines = [line for line in out.stderr.splitlines() if "error" in line.lower()]
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(lines) == 1 and named in lines[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert list(workdir.iterdir()) == [p for p in workdir.iterdir() if p.name == "nope.yaml"]


_UNION = (
    'Parser key "model": Does not validate against any of the Union subtypes Subtypes: '
    "[<class 'offpcc_pl.algorithms.base.OffPolicyModule'>, <class 'NoneType'>] Errors: - "
    "Problem with given class_path 'offpcc_pl.algorithms.SAC': {inner} - Expected a <class "
    "'NoneType'> Given value type: <class 'jsonargparse._util.NestedArg'> Given value: "
    "NestedArg(key='x', val='y')"
)
PARSER_MESSAGES = {  # jsonargparse 4.x wording -> ours
    _UNION.format(
        inner='Parser key "gamma": Not of type ClosedUnitInterval: 1.5 does not conform to '
        "restriction v>=0 and v<=1"
    ): "--model.gamma: 1.5 is not allowed (ClosedUnitInterval: v>=0 and v<=1)",
    _UNION.format(
        inner='Parser key "target_entropy": Does not validate against any of the Union '
        "subtypes Subtypes: [<class 'float'>, <class 'NoneType'>] Errors: - Expected a <class "
        "'float'> - Expected a <class 'NoneType'> Given value type: <class 'str'> Given value: x"
    ): "--model.target_entropy: 'x' is not allowed (expected float or None)",
    _UNION.format(
        inner="Parser key \"hidden_sizes\": Expected a <class 'tuple'>. Got value: foo"
    ): "--model.hidden_sizes: 'foo' is not allowed (expected tuple)",
    _UNION.format(inner="Option 'windw' is not accepted"): (
        "--model.windw: SAC has no option 'windw' (did you mean: window?) "
        "(offpcc-pl fit --model.help SAC lists them)"
    ),
    'Parser key "trainer.max_epochs": Does not validate against any of the Union subtypes '
    "Subtypes: [<class 'int'>, <class 'NoneType'>] Errors: - Expected a <class 'int'> - "
    "Expected a <class 'NoneType'> Given value type: <class 'str'> Given value: abc": (
        "--trainer.max_epochs: 'abc' is not allowed (expected int or None)"
    ),
    "unrecognized arguments: --trainer.foo 1": "unrecognized arguments: --trainer.foo 1",
}


@pytest.mark.parametrize("message", PARSER_MESSAGES)
def test_parser_messages_read_as_flag_value_and_what_is_allowed(message: str) -> None:
    from offpcc_pl.errors import parser_message

    assert parser_message(message, lambda cls: ["tau", "window"]) == PARSER_MESSAGES[message]


@pytest.mark.parametrize(
    "flags, named",
    [
        ({"devices": "0,1"}, "--trainer.devices 0,1"),
        ({"devices": [0, 1]}, "--trainer.devices [0, 1]"),
        ({"devices": 0}, "--trainer.devices 0"),
        ({"num_nodes": 2}, "--trainer.num_nodes 2"),
        ({"strategy": "ddp"}, "--trainer.strategy ddp"),
        ({"accelerator": "cpo"}, "did you mean: cpu?"),
        ({"accelerator": "cuda"}, "no CUDA GPU"),
    ],
)
def test_trainer_must_be_one_existing_device(flags: dict, named: str) -> None:
    from jsonargparse import Namespace

    from offpcc_pl.errors import ConfigError
    from offpcc_pl.lightning_cli import check_trainer

    defaults = {"accelerator": "auto", "devices": 1, "num_nodes": 1, "strategy": "auto"}
    check_trainer(Namespace(**defaults))  # the defaults pass
    check_trainer(Namespace(**{**defaults, "devices": "auto", "accelerator": "cpu"}))
    if flags.get("accelerator") == "cuda" and torch.cuda.is_available():
        pytest.skip(HAS_CUDA)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("?", r"\?")):
        check_trainer(Namespace(**{**defaults, **flags}))


def test_malformed_yaml_and_corrupt_checkpoint(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text("model: [unclosed\n  trainer: {")
    (workdir / "broken.ckpt").write_bytes(b"not a checkpoint")
    for flags, named in (
        (["--config", "bad.yaml"], "bad.yaml"),
        (["--model", "SAC", "--ckpt_path", "broken.ckpt"], "broken.ckpt"),
    ):
        out = run_cli("fit", *flags, cwd=workdir)
        lines = [line for line in out.stderr.splitlines() if "error" in line.lower()]
        assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
        assert named in lines[0] and "Traceback" not in out.stderr
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.yaml", "broken.ckpt"]


def test_rsac_bumps_config_trains_a_tiny_epoch(workdir: Path) -> None:
    config = Path(__file__).parents[1] / "configs" / "rsac_bumps.yaml"
    out = run_cli(
        "fit", "--config", str(config), "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", "120", "--model.update_after", "100",
        "--model.summarizer_hidden", "16", "--model.hidden_sizes", "[32,32]",
        "--model.eval_episodes", "1", "--trainer.logger", "false",
        "--trainer.enable_progress_bar", "false", cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    run = workdir / "checkpoints" / "pbc-bumps-normal-pomdp-v0-RSAC" / "seed0"
    ckpt = torch.load(run / "last.ckpt", weights_only=True)
    assert replay_state(ckpt)["env_steps"] == 120 and ckpt["n_updates"] > 0
    assert replay_state(ckpt)["env"] is None  # pybullet: the episode in progress is dropped


def test_envs_command_lists_our_domains(workdir: Path) -> None:
    out = run_cli("envs", "bumps", cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "pbc-bumps-normal-pomdp-v0" in out.stdout


def test_last_checkpoint_follows_every_epoch_during_warm_up(workdir: Path) -> None:
    # no optimizer step happens in warm-up, and Lightning would skip saves keyed on it
    args = [*tiny_args("SAC"), "--model.update_after", "1000", "--trainer.max_epochs", "2"]
    out = run_cli("fit", *args, "--trainer.default_root_dir", "run", cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    ckpt = torch.load(workdir / "run/last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 1 and replay_state(ckpt)["env_steps"] == 120


def test_compiled_fit_resumes_without_compile(workdir: Path) -> None:
    # `compile` is no part of a run's identity (it gives the eager losses): either way, the
    # same run goes on
    args = [*tiny_args("SAC"), "--trainer.default_root_dir", "run"]
    first = run_cli(
        "fit", *args, "--trainer.max_epochs", "1", "--model.compile", "true", cwd=workdir
    )
    assert first.returncode == 0, first.stderr[-2000:]
    ckpt = torch.load(workdir / "run/last.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["compile"] and ckpt["n_updates"] == 30
    second = run_cli("fit", *args, "--trainer.max_epochs", "2", "--ckpt_path", "last", cwd=workdir)
    assert second.returncode == 0, second.stderr[-2000:]
    ckpt = torch.load(workdir / "run/last.ckpt", weights_only=True)
    assert replay_state(ckpt)["env_steps"] == 120 and ckpt["n_updates"] == 90
