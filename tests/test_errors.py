"""Through ``offpcc-pl``: every command turns a user's mistake into one line (exit 2, no
traceback, nothing written) before any work; an option the CLI offers is applied or refused,
never ignored; nothing lands outside the run directory; W&B goes online only for a logged-in
user who chose nothing else; a diverged run names each loss once; ``envs`` and env making
print only what offpcc-pl means to say."""

from __future__ import annotations

import http.server
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from offpcc_pl.envs import native_output
from tests.conftest import run_cli, tiny_args

SAC = tiny_args("SAC")
RSAC = tiny_args("RSAC")  # car-top-v0: episodes of at most 10 steps
ROOT = ["--trainer.default_root_dir", "run"]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a directory)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def assert_one_line(out, named: list[str], alone: bool, code: int = 2) -> str:
    """Exit ``code``, no traceback, one error line naming ``named`` as the last line of
    stderr (``alone``: the only line). Returns that line."""
    assert out.returncode == code, (out.stdout + out.stderr)[-3000:]
    assert "Traceback" not in out.stderr + out.stdout, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "diverged:" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], out.stderr[-3000:]
    assert not alone or lines == errors, out.stderr[-3000:]
    for text in named:
        assert text in errors[0], errors[0]
    return errors[0]


# -- 3: one line everywhere -------------------------------------------------------------------

SETUPS: dict[str, Callable[[Path], object]] = {
    "empty": lambda work: None,
    "a list as config": lambda work: (work / "c.yaml").write_text("- model\n- trainer\n"),
    "a word as config": lambda work: (work / "c.yaml").write_text("hello\n"),
    "a directory as config": lambda work: (work / "c.yaml").mkdir(),
    "a file": lambda work: (work / "afile").write_bytes(b"a user's file\n"),
}
NOT_A_MAPPING = ["'c.yaml' holds a", "not a mapping of options"]
TRAINER_REFUSED = "--trainer.{} {}"

# case: (setup, args, named in the error line, the error is the only line on stderr)
REFUSALS: dict[str, tuple[str, list[str], list[str], bool]] = {
    # envs
    "envs, unknown family": ("empty", ["envs", "nosuch"], ["'nosuch'", "dmc", "bumps"], True),
    "envs, misspelt family": ("empty", ["envs", "dmcc"], ["did you mean: dmc"], True),
    "envs, extra argument": ("empty", ["envs", "dmc", "more"], ["more"], True),
    "envs, unknown option": ("empty", ["envs", "--bogus"], ["--bogus"], True),
    # config files that are not a mapping of options
    "fit, config is a list": (
        "a list as config",
        ["fit", "--config", "c.yaml"],
        NOT_A_MAPPING,
        True,
    ),
    "fit, config is a word": (
        "a word as config",
        ["fit", "--config", "c.yaml"],
        NOT_A_MAPPING,
        True,
    ),
    "fit, config is a directory": (
        "a directory as config",
        ["fit", "--config", "c.yaml"],
        ["'c.yaml' is a directory"],
        True,
    ),
    "validate, config is a list": (
        "a list as config",
        ["validate", "--config", "c.yaml", "--ckpt_path", "last"],
        NOT_A_MAPPING,
        True,
    ),
    "multifit, config is a list": (
        "a list as config",
        ["multifit", "--seeds", "0", "--", "--config", "c.yaml"],
        NOT_A_MAPPING,
        True,
    ),
    "multifit, config is a word": (
        "a word as config",
        ["multifit", "--seeds", "0", "--", "--config", "c.yaml"],
        NOT_A_MAPPING,
        True,
    ),
    # output root and seeds
    "fit, output root is a file": (
        "a file",
        ["fit", *SAC, "--trainer.default_root_dir", "afile"],
        ["'afile' is a file"],
        True,
    ),
    "fit, output root is empty": (
        "empty",
        ["fit", *SAC, "--trainer.default_root_dir", ""],
        ["--trainer.default_root_dir ''"],
        True,
    ),
    "fit, negative seed": (
        "empty",
        ["fit", *SAC, "--seed_everything", "-1"],
        ["-1", "4294967295"],
        True,
    ),
    "fit, seed above numpy's": (
        "empty",
        ["fit", *SAC, "--seed_everything", str(2**32)],
        [str(2**32), "4294967295"],
        True,
    ),
    "validate, negative seed": (
        "empty",
        ["validate", *SAC, "--seed_everything", "-3", "--ckpt_path", "last"],
        ["--seed_everything -3"],
        True,
    ),
    "multifit, negative seed": (
        "empty",
        ["multifit", "--seeds", "0", "-2", "--", "--model", "SAC"],
        ["--seeds -2", "4294967295"],
        True,
    ),
    # names multifit can check before it makes a run directory
    "multifit, unknown algorithm": (
        "empty",
        ["multifit", "--seeds", "0", "--", "--model", "NOPE"],
        ["unknown algorithm 'NOPE'", "SAC"],
        True,
    ),
    "multifit, unknown env id": (
        "empty",
        ["multifit", "--seeds", "0", "--", "--model", "SAC", "--model.env_id", "NoSuch-v0"],
        ["unknown env id 'NoSuch-v0'"],
        True,
    ),
    "multifit, unknown env id in a grid": (
        "empty",
        ["multifit", "--seeds", "0", "--grid", "model.env_id=Pendulum-v1,Nope-v0", "--"]
        + ["--model", "SAC"],
        ["unknown env id 'Nope-v0'"],
        True,
    ),
    # Ray options: only with --ray, and each trial must be able to start
    "multifit, Ray option without --ray": (
        "empty",
        ["multifit", "--seeds", "0", "--num_cpus", "2", "--", "--model", "SAC"],
        ["--num_cpus", "--ray"],
        True,
    ),
    "multifit, no CPUs": (
        "empty",
        ["multifit", "--seeds", "0", "--ray", "--num_cpus", "0", "--", "--model", "SAC"],
        ["--num_cpus 0"],
        True,
    ),
    "multifit, a trial larger than the local Ray": (
        "empty",
        ["multifit", "--seeds", "0", "--ray", "--num_cpus", "1", "--cpus_per_trial", "2"]
        + ["--", "--model", "SAC"],
        ["--cpus_per_trial 2.0", "--num_cpus 1"],
        True,
    ),
    "multifit, zero CPUs a trial": (
        "empty",
        ["multifit", "--seeds", "0", "--ray", "--cpus_per_trial", "0", "--", "--model", "SAC"],
        ["--cpus_per_trial 0.0"],
        True,
    ),
    "multifit, no trials at once": (
        "empty",
        ["multifit", "--seeds", "0", "--ray", "--max_concurrent", "0", "--", "--model", "SAC"],
        ["--max_concurrent 0"],
        True,
    ),
    # the window against the episode limit, refused as the module is built
    "window beyond the episode limit": (
        "empty",
        ["fit", *RSAC, "--model.window", "100000"],
        ["--model.window 100000", "car-top-v0", "10", "--model.window null"],
        False,
    ),
    "window plus burn-in beyond the episode limit": (
        "empty",
        ["fit", *RSAC, "--model.window", "8", "--model.burn_in", "5"],
        ["--model.window 8 + --model.burn_in 5", "13 steps", "within 10"],
        False,
    ),
    # options that would be recorded in hparams.yaml but not applied
    "image option on a vector env": (
        "empty",
        ["fit", *SAC, "--model.image_shift", "0"],
        ["--model.image_shift 0", "'Pendulum-v1' observes vectors"],
        False,
    ),
    "image size on a vector env": (
        "empty",
        ["fit", *SAC, "--model.image_embedding", "32"],
        ["--model.image_embedding 32"],
        False,
    ),
    # the policy commands
    "evaluate, no episodes": (
        "empty",
        ["evaluate", "--policy", "run", "--episodes", "0"],
        ["--episodes", "0"],
        True,
    ),
    "record, frame rate 0": ("empty", ["record", "--policy", "run", "--fps", "0"], ["--fps"], True),
    # an empty --env_id would fall back to the training env without a word
    "evaluate, empty env id": (
        "empty",
        ["evaluate", "--policy", "run", "--env_id", ""],
        ["--env_id", "empty string"],
        True,
    ),
    "render, blank env id": (
        "empty",
        ["render", "--policy", "run", "--env_id", " "],
        ["--env_id", "empty string"],
        True,
    ),
    "record, unknown env id": (
        "empty",
        ["record", "--policy", "run", "--env_id", "Pendulum-v9"],
        ["--env_id", "'Pendulum-v9'", "Pendulum-v1"],
        True,
    ),
    "export, unknown option": (
        "empty",
        ["export", "--ckpt_path", "run/last.ckpt", "--bogus"],
        ["--bogus"],
        True,
    ),
    "plot, labels and dirs differ": (
        "empty",
        ["plot", ".", "--out", "f.png", "--label", "a", "--label", "b"],
        ["2 --label for 1 DIRs"],
        True,
    ),
}

# Trainer options LightningCLI offers that a run cannot honour: (option, value, named)
TRAINER_OPTIONS: list[tuple[str, str, str]] = [
    ("max_steps", "5", "optimizer steps"),
    ("min_steps", "5", "optimizer steps"),
    ("precision", "64-true", "float32"),
    ("precision", "bf16-mixed", "float32"),
    ("precision", "16-mixed", "float32"),
    ("plugins", "lightning_fabric.plugins.io.torch_io.TorchCheckpointIO", "atomically"),
    ("gradient_clip_val", "1.0", "manual optimization"),
    ("gradient_clip_algorithm", "value", "not clipped"),
    ("accumulate_grad_batches", "2", "--model.batch_size"),
    ("overfit_batches", "2", "replay"),
    ("limit_predict_batches", "3", "no predict command"),
    ("log_every_n_steps", "5", "once per epoch"),
    ("barebones", "true", "always writes"),
    ("enable_checkpointing", "false", "last.ckpt"),
    ("model_registry", "mine", "no model"),
    ("limit_train_batches", "0", "at least one env step"),
    ("limit_train_batches", "-5", "at least one env step"),
    ("check_val_every_n_epoch", "0", "N >= 1"),
    ("val_check_interval", "0", "N >= 1"),
    ("num_nodes", "0", "one node"),
    ("num_sanity_val_steps", "-5", "-1"),
    ("min_epochs", "5", "--trainer.max_epochs 1"),
]
for _name, _value, _named in TRAINER_OPTIONS:
    _shown = _value.rsplit(".", 1)[-1] if _name == "plugins" else _value  # a class by name
    REFUSALS[f"fit --trainer.{_name} {_shown}"] = (
        "empty",
        ["fit", *SAC, "--trainer.max_epochs", "1", f"--trainer.{_name}", _value],
        [TRAINER_REFUSED.format(_name, _shown), _named],
        True,
    )
REFUSALS["validate --trainer.precision 64-true"] = (
    "empty",
    ["validate", *SAC, "--trainer.precision", "64-true", "--ckpt_path", "last"],
    ["--trainer.precision 64-true"],
    True,
)
REFUSALS["test --trainer.max_steps 3"] = (
    "empty",
    ["test", *SAC, "--trainer.max_steps", "3", "--ckpt_path", "last"],
    ["--trainer.max_steps 3"],
    True,
)
# LightningCLI's own optimizer, scheduler and data module, and unsafe checkpoint loading
for _args, _named in (
    (["--optimizer", "Adam"], ["--optimizer Adam", "--model.lr"]),
    (["--lr_scheduler", "StepLR", "--lr_scheduler.step_size", "1"], ["--lr_scheduler StepLR"]),
    (["--data", "pytorch_lightning.demos.boring_classes.BoringDataModule"], ["--data Boring"]),
    (["--weights_only", "false"], ["--weights_only false", "never runs code"]),
):
    REFUSALS[f"fit {_args[0]}"] = ("empty", ["fit", *SAC, *_args], _named, True)


@pytest.mark.parametrize("case", REFUSALS)
def test_a_mistake_is_one_line_and_writes_nothing(case: str, workdir: Path) -> None:
    setup, args, named, alone = REFUSALS[case]
    SETUPS[setup](workdir)
    before = snapshot(workdir)
    out = run_cli(*args, cwd=workdir, timeout=300)
    assert_one_line(out, named, alone)
    assert snapshot(workdir) == before


def test_whole_episodes_and_a_single_callback_work(workdir: Path) -> None:
    """What the refusals point to works: ``--model.window null`` trains on whole episodes,
    and one callback given as itself (not a list) is added; ``test`` plays the test
    episodes of the saved run."""
    out = run_cli(
        "fit", *RSAC, "--model.window", "null", "--trainer.max_epochs", "1", *ROOT,
        "--trainer.callbacks", "pytorch_lightning.callbacks.LearningRateMonitor",
        cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert (workdir / "run" / "last.ckpt").is_file()
    header = (workdir / "run/csv/version_0/metrics.csv").read_text().splitlines()[0]
    assert "lr-Adam" in header  # the callback ran
    out = run_cli("test", *RSAC, *ROOT, "--ckpt_path", "last", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "test/episode_return" in out.stdout


# -- 6 and 9: nothing outside the run, nothing the project does not mean to say --------------

NOISE = ("argv[0]=", "settotalmass", "pybullet build time", "MuJoCo", "deprecated", "out of date")


def test_envs_prints_only_the_table(workdir: Path) -> None:
    out = run_cli("envs", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "HalfCheetah-P-v5" in out.stdout and "pbc-bumps-normal-pomdp-v0" in out.stdout
    for noise in NOISE:
        assert noise not in out.stdout + out.stderr, noise
    assert out.stderr == ""
    assert list(workdir.iterdir()) == []  # no MUJOCO_LOG.TXT


@pytest.mark.parametrize(
    "env_id",
    [
        "HalfCheetah-P-v5",  # gymnasium's half_cheetah.xml: MuJoCo warns about settotalmass
        "pbc-bumps-normal-pomdp-v0",  # pybullet: its build time and argv[0]= from C
        "reacher-pomdp-v0",  # gymnasium: "out of date", as reacher-pomdp-v1 is registered
    ],
)
def test_a_run_writes_only_its_directory_and_says_nothing_of_its_simulator(
    env_id: str, workdir: Path
) -> None:
    args = [*SAC, "--model.env_id", env_id, "--trainer.max_epochs", "1", *ROOT]
    out = run_cli("fit", *args, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    for noise in NOISE:
        assert noise not in out.stdout + out.stderr, noise
    assert [p.name for p in workdir.iterdir()] == ["run"]  # no MUJOCO_LOG.TXT beside it
    assert not list((workdir / "run").rglob("MUJOCO_LOG.TXT"))


def test_mujoco_warnings_other_than_deprecations_reach_the_user(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="offpcc_pl.mujoco"):
        native_output._mujoco_warning("compiler attribute 'x' is deprecated\n")
        native_output._mujoco_warning("Nan, Inf or huge value in QACC at DOF 0\n")
    assert [r.getMessage() for r in caplog.records] == [
        "MuJoCo: Nan, Inf or huge value in QACC at DOF 0"
    ]


# -- 7: W&B offline without a login, online with one, the user's choice first ------------------


class FakeWandbServer:
    """A W&B server on localhost that records what reaches it and refuses every request:
    a run that goes online is seen trying, without any network."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                paths.append(self.path)
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"errors": [{"message": "fake server"}]}')

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wandb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWandbServer]:
    """No login, no WANDB_MODE, HOME a fresh directory, W&B's server a local fake."""
    server = FakeWandbServer()
    home = tmp_path.parent / f"{tmp_path.name}-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("WANDB_MODE", "WANDB_API_KEY", "NETRC", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", server.url)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "20")
    yield server
    server.close()


FAKE_KEY = "0123456789abcdef" * 2 + "01234567"  # 40 characters, as W&B's keys


def _log_in_with_netrc(home: Path) -> None:
    """What ``wandb login`` leaves: the key in ~/.netrc under the server's host:port."""
    netrc = home / ".netrc"
    server = os.environ["WANDB_BASE_URL"].split("//", 1)[1]
    netrc.write_text(f"machine {server}\n  login user\n  password {FAKE_KEY}\n")
    netrc.chmod(0o600)


CONFIG = Path(__file__).parents[1] / "configs" / "sac_pendulum.yaml"  # a shipped W&B config
SHORT = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "40"]
SHORT += ["--model.update_after", "30", "--model.eval_episodes", "1"]
SHORT += ["--model.hidden_sizes", "[16,16]", "--trainer.enable_progress_bar", "false"]


def _own_offline_config(work: Path) -> Path:
    """The user's own config: the shipped one with ``offline: true`` on its W&B logger."""
    text = CONFIG.read_text().replace(
        "project: offpcc-pl", "project: offpcc-pl\n        offline: true"
    )
    assert "offline: true" in text
    own = work / "mine.yaml"
    own.write_text(text)
    return own


# case: (log in?, extra environment, use the user's own offline config, goes online)
WANDB_CASES: dict[str, tuple[bool, dict[str, str], bool, bool]] = {
    "no login: offline": (False, {}, False, False),
    "logged in: online": (True, {}, False, True),
    "logged in, WANDB_MODE=offline: offline": (True, {"WANDB_MODE": "offline"}, False, False),
    "logged in by WANDB_API_KEY, WANDB_MODE=offline": (
        False,
        {"WANDB_API_KEY": FAKE_KEY, "WANDB_MODE": "offline"},
        False,
        False,
    ),
    "logged in, own config offline: true": (True, {}, True, False),
}


@pytest.mark.parametrize("case", WANDB_CASES)
def test_wandb_is_online_only_for_a_logged_in_user_who_chose_nothing_else(
    case: str,
    wandb_home: FakeWandbServer,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged_in, environment, own_config, online = WANDB_CASES[case]
    if logged_in:
        _log_in_with_netrc(Path(os.environ["HOME"]))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = _own_offline_config(workdir) if own_config else CONFIG
    out = run_cli("fit", "--config", str(config), *SHORT, *ROOT, cwd=workdir)
    runs = sorted(p.name.split("-")[0] for p in (workdir / "run" / "wandb").glob("*run-*"))
    if online:  # it reached the (fake) server, which refused the fake key: one line
        assert runs == ["run"] and "/graphql" in wandb_home.paths, (runs, out.stderr[-3000:])
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-3000:]
        errors = [line for line in out.stderr.splitlines() if "error:" in line]
        # W&B's own telemetry, refused by the server too, may add its lines at exit
        assert len(errors) == 1 and "W&B refused the run" in errors[0], out.stderr[-3000:]
        assert "WANDB_MODE=offline" in errors[0]
        assert not list((workdir / "run").glob("csv/version_*"))  # the run can start again
    else:
        assert out.returncode == 0, out.stderr[-3000:]
        assert runs == ["offline"], runs
        assert "/graphql" not in wandb_home.paths  # no run started on the server
        assert "anonymous setting" not in out.stderr  # no warning about Lightning's default
    assert sorted(p.name for p in workdir.iterdir()) == [*own_config * ["mine.yaml"], "run"]


# -- 8: a diverged run names each loss once ------------------------------------------------------


def test_a_diverged_run_names_each_loss_once(workdir: Path) -> None:
    args = [*SAC, "--model.lr", "1e30", "--trainer.max_epochs", "2", *ROOT]
    out = run_cli("fit", *args, cwd=workdir)
    line = assert_one_line(out, ["became NaN/inf", "--model.lr"], alone=False, code=1)
    losses = re.search(r"training diverged: (.*?) (losses|loss) became", line)
    assert losses, line
    names = re.split(r", | and ", losses.group(1))
    assert "critic" in names and len(names) == len(set(names)), line
    assert all(re.fullmatch(r"[a-z]+", name) for name in names), line


def test_wandb_files_go_where_the_user_said(wandb_home: FakeWandbServer, workdir: Path) -> None:
    """A ``save_dir`` given to the W&B logger is kept; without one, W&B writes in the run."""
    text = CONFIG.read_text().replace(
        "project: offpcc-pl", f"project: offpcc-pl\n        save_dir: {workdir / 'mine'}"
    )
    assert "save_dir" in text
    (workdir / "mine.yaml").write_text(text)
    out = run_cli("fit", "--config", "mine.yaml", *SHORT, *ROOT, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [p.name.split("-")[0] for p in (workdir / "mine" / "wandb").glob("*run-*")] == [
        "offline"
    ]
    assert not (workdir / "run" / "wandb").exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["mine", "mine.yaml", "run"]
