"""Nothing lost, nothing made up: through ``offpcc-pl``, a command refuses in one line (exit
2, no traceback, nothing written or replaced) to replace a run or a file, to use a
checkpoint that is not there, or to write an output of the wrong kind."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli, tiny_args

CONFIG = str(Path(__file__).parents[1] / "configs" / "sac_pendulum.yaml")
DEFAULT_RUN = Path("checkpoints", "Pendulum-v1-SAC", "seed0")  # of tiny_args("SAC")
SAC = tiny_args("SAC")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny SAC run: last.ckpt, best.ckpt, policy/, csv/version_0."""
    root = tmp_path_factory.mktemp("trained")
    args = [*SAC, "--trainer.max_epochs", "1", "--model.update_after", "40"]
    out = run_cli("fit", *args, "--trainer.default_root_dir", "run", cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    return root / "run"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a directory)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def assert_refused(out, named: list[str], alone: bool = True) -> None:
    """Exit 2 with one error line naming ``named``, the last line of stderr (``alone``: the
    only one), and no traceback."""
    assert out.returncode == 2, (out.stdout + out.stderr)[-3000:]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [
        line
        for line in out.stderr.splitlines()
        if line.strip() and "pybullet build time" not in line
    ]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], out.stderr[-3000:]
    assert not alone or lines == errors, out.stderr[-3000:]
    for text in named:
        assert text in errors[0], errors[0]


# -- the directories a case starts from ---------------------------------------------------------


def _copy(trained: Path, to: Path, *names: str) -> None:
    """``trained`` copied to ``to``, or only its ``names``."""
    if not names:
        shutil.copytree(trained, to)
        return
    to.mkdir(parents=True)
    for name in names:
        source = trained / name
        if source.is_dir():
            shutil.copytree(source, to / name)
        else:
            shutil.copy2(source, to / name)


SETUPS: dict[str, Callable[[Path, Path], None]] = {
    "empty": lambda work, trained: None,
    "run": lambda work, trained: _copy(trained, work / "run"),
    "default run dir": lambda work, trained: _copy(trained, work / DEFAULT_RUN),
    "csv only": lambda work, trained: _copy(trained, work / "run", "csv"),
    "policy only": lambda work, trained: _copy(trained, work / "run", "policy"),
    "best only": lambda work, trained: _copy(trained, work / "run", "best.ckpt"),
    "two runs": lambda work, trained: (
        _copy(trained, work / "run"),
        _copy(trained, work / "run2"),
    ),
    "file": lambda work, trained: (work / "afile").write_bytes(b"a user's file\n"),
    "run and outputs": lambda work, trained: (
        _copy(trained, work / "run"),
        _copy(trained / "policy", work / "exported"),
        (work / "results.json").write_bytes(b'{"mine": 1}\n'),
        (work / "fig.png").write_bytes(b"not really a png\n"),
        (work / "plots").mkdir(),
        (work / "run" / "videos").mkdir(),
        (work / "run" / "videos" / "Pendulum-v1-episode0.mp4").write_bytes(b"my video\n"),
        (work / "emptydir").mkdir(),
    ),
}


def prepared(setup: str, work: Path, trained: Path) -> dict[str, bytes | None]:
    SETUPS[setup](work, trained)
    return snapshot(work)


# -- 1, 2, 4: fit / validate / test ----------------------------------------------------------------

ALREADY = "already holds a run"
WAYS_OUT = ["--ckpt_path last", "--trainer.default_root_dir"]
ROOT = ["--trainer.default_root_dir"]

# case: (setup, args, named in the error line, the error is the only line on stderr)
LIGHTNING_REFUSALS: dict[str, tuple[str, list[str], list[str], bool]] = {
    # 1: a run directory that holds a run is not started over
    "fit into a finished run": ("run", ["fit", *SAC, *ROOT, "run"], [ALREADY, *WAYS_OUT], True),
    "fit into the default run dir": ("default run dir", ["fit", *SAC], [ALREADY, *WAYS_OUT], True),
    "fit --config twice": ("default run dir", ["fit", "--config", CONFIG], [ALREADY], True),
    "fit into CSV logs": ("csv only", ["fit", *SAC, *ROOT, "run"], [ALREADY, "csv/"], True),
    "fit into a policy": ("policy only", ["fit", *SAC, *ROOT, "run"], [ALREADY, "policy/"], True),
    "fit into best.ckpt": ("best only", ["fit", *SAC, *ROOT, "run"], [ALREADY, "best.ckpt"], True),
    "another run's checkpoint into a run": (
        "two runs",
        ["fit", *SAC, *ROOT, "run2", "--ckpt_path", "run/last.ckpt"],
        ["'run2' already holds a run", "replace", "--ckpt_path last"],
        True,
    ),
    "fit root is a file": ("file", ["fit", *SAC, *ROOT, "afile"], ["'afile' is a file"], True),
    "fit root under a file": (
        "file",
        ["fit", *SAC, *ROOT, "afile/run"],
        ["'afile' is a file, not a directory"],
        True,
    ),
    # 2: no result without its checkpoint
    "fit --ckpt_path last, no run": (
        "empty",
        ["fit", *SAC, "--ckpt_path", "last"],
        ["--ckpt_path last", f"'{DEFAULT_RUN}' holds no last.ckpt"],
        True,
    ),
    "fit --ckpt_path best, no run": (
        "empty",
        ["fit", *SAC, *ROOT, "new", "--ckpt_path", "best"],
        ["--ckpt_path best", "'new' holds no best.ckpt"],
        True,
    ),
    "fit from weights only": (
        "run",
        ["fit", *SAC, *ROOT, "run", "--ckpt_path", "best"],
        ["run/best.ckpt' holds weights only", "--ckpt_path last"],
        True,
    ),
    "fit from a missing file": (
        "empty",
        ["fit", *SAC, "--ckpt_path", "missing.ckpt"],
        ["checkpoint 'missing.ckpt' does not exist"],
        True,
    ),
    "fit from a directory": (
        "run",
        ["fit", *SAC, *ROOT, "new", "--ckpt_path", "run"],
        ["--ckpt_path 'run' is a directory"],
        True,
    ),
    "validate --ckpt_path last, no run": (
        "empty",
        ["validate", *SAC, "--ckpt_path", "last"],
        ["--ckpt_path last", "holds no last.ckpt"],
        True,
    ),
    "validate --config --ckpt_path last, no run": (
        "empty",
        ["validate", "--config", CONFIG, "--ckpt_path", "last"],
        ["holds no last.ckpt"],
        True,
    ),
    "validate --ckpt_path best, no run": (
        "empty",
        ["validate", *SAC, "--ckpt_path", "best"],
        ["--ckpt_path best", "holds no best.ckpt"],
        True,
    ),
    "validate without --ckpt_path": (
        "run",
        ["validate", *SAC, *ROOT, "run"],
        ["validate needs --ckpt_path", "untrained"],
        True,
    ),
    "test --ckpt_path last, no run": (
        "empty",
        ["test", *SAC, *ROOT, "run", "--ckpt_path", "last"],
        ["'run' holds no last.ckpt"],
        True,
    ),
    "validate from a missing file": (
        "empty",
        ["validate", *SAC, "--ckpt_path", "run/nope.ckpt"],
        ["checkpoint 'run/nope.ckpt' does not exist"],
        True,
    ),
    # 4: refused while the run is set up or restored, or by an epoch option
    "resume into a smaller buffer": (
        "run",
        ["fit", *SAC, *ROOT, "run", "--ckpt_path", "last", "--model.capacity", "10"],
        ["capacity is 10"],
        False,
    ),
    "resume into a smaller buffer, W&B on": (
        "run",
        ["fit", *SAC, *ROOT, "run", "--ckpt_path", "last", "--model.capacity", "10"]
        + ["--trainer.logger", "WandbLogger"],
        ["capacity is 10"],
        False,
    ),
    "a buffer larger than memory": (
        "empty",
        ["fit", *SAC, *ROOT, "new/run", "--model.capacity", str(10**13)],
        ["replay capacity"],
        False,
    ),
    "a fraction of an epoch": (
        "empty",
        ["fit", *SAC, *ROOT, "new", "--trainer.limit_train_batches", "0.5"],
        ["--trainer.limit_train_batches 0.5"],
        True,
    ),
    "an endless epoch": (
        "empty",
        ["fit", *SAC, *ROOT, "new", "--trainer.limit_train_batches", "1.0"],
        ["--trainer.limit_train_batches 1.0"],
        True,
    ),
    "validation after the epoch": (
        "empty",
        ["fit", *SAC, *ROOT, "new", "--trainer.val_check_interval", "100"],
        ["--trainer.val_check_interval 100", "60 env steps"],
        True,
    ),
}


@pytest.mark.parametrize("case", LIGHTNING_REFUSALS)
def test_lightning_commands_refuse_and_write_nothing(
    case: str, trained: Path, workdir: Path
) -> None:
    setup, args, named, alone = LIGHTNING_REFUSALS[case]
    before = prepared(setup, workdir, trained)
    out = run_cli(*args, cwd=workdir)
    assert_refused(out, named, alone)
    assert snapshot(workdir) == before  # no checkpoint, no CSV version, no W&B run


def test_the_ways_out_of_a_refused_fit_work(trained: Path, workdir: Path) -> None:
    prepared("run", workdir, trained)
    refused = run_cli("fit", *SAC, *ROOT, "run", cwd=workdir)
    assert_refused(refused, [ALREADY])
    more = ["--trainer.max_epochs", "2", "--model.update_after", "40"]
    out = run_cli("fit", *SAC, *more, *ROOT, "run", "--ckpt_path", "last", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = torch.load(workdir / "run/last.ckpt", weights_only=True)
    assert ckpt["callbacks"]["ReplayCallback"]["env_steps"] == 120  # continued, not restarted
    out = run_cli("fit", *SAC, "--trainer.max_epochs", "1", *ROOT, "other", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (workdir / "other/last.ckpt").is_file()


@pytest.mark.parametrize("alias", ["last", "best"])
def test_validate_plays_the_run_directory_checkpoint(
    alias: str, trained: Path, workdir: Path
) -> None:
    prepared("run", workdir, trained)
    out = run_cli("validate", *SAC, *ROOT, "run", "--ckpt_path", alias, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"Loaded model weights from the checkpoint at run/{alias}.ckpt" in out.stderr
    assert "test/episode_return" in out.stdout


def test_wandb_joins_once_the_run_is_set_up(trained: Path, workdir: Path) -> None:
    """The W&B logger, held back while a run is set up, still records the run's options and
    curves (fit) and the evaluated checkpoint's returns (validate)."""
    wandb = ["--trainer.logger", "WandbLogger", *ROOT, "run"]
    out = run_cli("fit", *SAC, "--trainer.max_epochs", "1", *wandb, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    out = run_cli("validate", *SAC, *wandb, "--ckpt_path", "best", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = sorted((workdir / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 2  # one each, offline (conftest sets WANDB_MODE)
    fitted, validated = (path.read_bytes() for path in runs)
    for key in (b"hidden_sizes", b"test/episode_return", b"loss/critic", b"time/env_steps"):
        assert key in fitted, key
    for key in (b"hidden_sizes", b"test/episode_return"):
        assert key in validated, key


# -- 1, 2, 5: the policy commands ----------------------------------------------------------------

OVERWRITE = ["choose another path", "--overwrite"]
NO_FILE = "does not exist (--ckpt_path takes a checkpoint file"
SOURCES: dict[str, tuple[list[str], list[str]]] = {
    "missing file": (["--ckpt_path", "run/nope.ckpt"], ["checkpoint 'run/nope.ckpt'", NO_FILE]),
    "last": (["--ckpt_path", "last"], ["checkpoint 'last'", NO_FILE, "RUN/last.ckpt"]),
    "best": (["--ckpt_path", "best"], ["checkpoint 'best'", NO_FILE, "RUN/best.ckpt"]),
    "a directory": (["--ckpt_path", "run"], ["'run' is a directory", "--policy run"]),
}
POLICY_SOURCES: dict[str, tuple[list[str], list[str]]] = {
    "a file as --policy": (["--policy", "run/last.ckpt"], ["--policy 'run/last.ckpt' is a file"]),
    "missing --policy": (["--policy", "nowhere"], ["policy dir 'nowhere' does not exist"]),
    "no policy in --policy": (["--policy", "emptydir"], ["holds no exported policy"]),
}
SOURCE_COMMANDS = {"export": ["--out", "new"], "evaluate": [], "record": ["--out", "new"]}
SOURCE_COMMANDS["render"] = []
COMMAND_REFUSALS: dict[str, tuple[list[str], list[str]]] = {
    **{
        f"{command} from {k}": ([command, *source, *extra], named)
        for command, extra in SOURCE_COMMANDS.items()
        for k, (source, named) in SOURCES.items()
    },
    **{
        f"{command} {k}": ([command, *source, *extra], named)
        for command, extra in SOURCE_COMMANDS.items()
        if command != "export"  # export reads checkpoints only
        for k, (source, named) in POLICY_SOURCES.items()
    },
    # 1: nothing replaced
    "export over the run's policy": (
        ["export", "--ckpt_path", "run/best.ckpt"],
        ["--out 'run/policy' already holds policy.yaml, actor.pth", *OVERWRITE],
    ),
    "export over an export": (
        ["export", "--ckpt_path", "run/last.ckpt", "--out", "exported"],
        ["already holds policy.yaml", *OVERWRITE],
    ),
    "evaluate --json over a file": (
        ["evaluate", "--policy", "run", "--episodes", "50", "--json", "results.json"],
        ["--json 'results.json' exists", *OVERWRITE],
    ),
    "record over a video": (
        ["record", "--policy", "run", "--max_steps", "3"],
        ["'run/videos' already holds Pendulum-v1-episode0.mp4", *OVERWRITE],
    ),
    "plot over a figure": (["plot", "run", "--out", "fig.png"], ["--out 'fig.png' exists"]),
    # 5: outputs of the wrong kind
    "export --out a file": (
        ["export", "--ckpt_path", "run/last.ckpt", "--out", "results.json"],
        ["--out 'results.json' is a file; it takes a directory"],
    ),
    "export --out a file name": (
        ["export", "--ckpt_path", "run/last.ckpt", "--out", "actor.pth"],
        ["--out 'actor.pth' names a .pth file; it takes a directory"],
    ),
    "export --out under a file": (
        ["export", "--ckpt_path", "run/last.ckpt", "--out", "fig.png/policy"],
        ["'fig.png' is a file, not a directory"],
    ),
    "record --out video.mp4": (
        ["record", "--policy", "run", "--out", "video.mp4"],
        ["--out 'video.mp4' names a .mp4 file; it takes a directory", "--out video"],
    ),
    "record --out a file": (
        ["record", "--policy", "run", "--out", "fig.png"],
        ["--out 'fig.png' is a file; it takes a directory"],
    ),
    "record --out under a file": (
        ["record", "--policy", "run", "--out", "results.json/videos"],
        ["'results.json' is a file, not a directory"],
    ),
    "plot --out a directory": (
        ["plot", "run", "--out", "plots"],
        ["--out 'plots' is a directory; it takes a file name", "plots/curves.png"],
    ),
    "plot --out without a suffix": (
        ["plot", "run", "--out", "curves"],
        ["--out 'curves' does not end in a file type", ".png"],
    ),
    "plot --out a video": (
        ["plot", "run", "--out", "curves.mp4"],
        ["--out 'curves.mp4' does not end in a file type"],
    ),
    "plot --out under a file": (
        ["plot", "run", "--out", "fig.png/curves.png"],
        ["'fig.png' is a file, not a directory"],
    ),
    "evaluate --json a directory": (
        ["evaluate", "--policy", "run", "--episodes", "50", "--json", "plots"],
        ["--json 'plots' is a directory; it takes a file name"],
    ),
    "evaluate --json under a file": (
        ["evaluate", "--policy", "run", "--json", "fig.png/results.json"],
        ["'fig.png' is a file, not a directory"],
    ),
}


@pytest.mark.parametrize("case", COMMAND_REFUSALS)
def test_policy_commands_refuse_and_write_nothing(case: str, trained: Path, workdir: Path) -> None:
    args, named = COMMAND_REFUSALS[case]
    before = prepared("run and outputs", workdir, trained)
    out = run_cli(*args, cwd=workdir)
    assert_refused(out, [f"offpcc-pl {args[0]}: error: ", *named])
    assert snapshot(workdir) == before


OVERWRITES = {  # command writing over "run and outputs", and the files it may replace
    "export": (["export", "--ckpt_path", "run/best.ckpt", "--out", "exported"],
               {"exported/actor.pth", "exported/policy.yaml"}),
    "evaluate": (["evaluate", "--policy", "run", "--episodes", "1", "--json", "results.json"],
                 {"results.json"}),
    "record": (["record", "--policy", "run", "--max_steps", "3"],
               {"run/videos/Pendulum-v1-episode0.mp4"}),
    "plot": (["plot", "run", "--out", "fig.png"], {"fig.png"}),
}  # fmt: skip


@pytest.mark.parametrize("command", OVERWRITES)
def test_overwrite_replaces_only_when_asked(command: str, trained: Path, workdir: Path) -> None:
    args, replaced = OVERWRITES[command]
    before = prepared("run and outputs", workdir, trained)
    out = run_cli(*args, "--overwrite", cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    after = snapshot(workdir)
    assert after.keys() == before.keys()
    changed = {k for k in after if after[k] != before[k]}
    assert changed and changed <= replaced, changed


# -- 1: multifit ----------------------------------------------------------------------------------

MULTIFIT = ["multifit", "--seeds", "0", "--", *SAC, *ROOT, "runs"]


@pytest.mark.parametrize(
    ("leftover", "named"),
    [
        ("best.ckpt", ["runs/seed0' holds a run without a last.ckpt", "best.ckpt"]),
        ("policy", ["holds a run without a last.ckpt", "policy/"]),
        ("csv", ["holds a run without a last.ckpt", "csv/version_0"]),
        ("a file", ["runs/seed0' is a file"]),
    ],
)
def test_multifit_refuses_a_run_it_cannot_continue(
    leftover: str, named: list[str], trained: Path, workdir: Path
) -> None:
    if leftover == "a file":
        (workdir / "runs").mkdir()
        (workdir / "runs" / "seed0").write_bytes(b"a user's file\n")
    else:
        _copy(trained, workdir / "runs" / "seed0", leftover)
    before = snapshot(workdir)
    for dry_run in ([], ["--dry_run"]):
        args = [*MULTIFIT[:3], *dry_run, *MULTIFIT[3:]]
        out = run_cli(*args, cwd=workdir)
        assert_refused(out, ["offpcc-pl multifit: error: ", *named])
        assert snapshot(workdir) == before


def test_multifit_of_a_refused_fit_writes_nothing(workdir: Path) -> None:
    out = run_cli("multifit", "--seeds", "0", "1", "--", *SAC, "--model.lr", "-1", cwd=workdir)
    assert_refused(out, ["--model.lr: -1"])
    assert "seed1" not in out.stdout  # a bad fit option fails every seed alike
    assert snapshot(workdir) == {}  # not even an empty run directory


def test_multifit_retries_a_start_that_saved_no_checkpoint(tmp_path: Path) -> None:
    """A fit that dies before its first last.ckpt leaves CSV logs; multifit takes them back,
    so the retry starts a clean run instead of being refused as an existing one."""
    from offpcc_pl.commands.multifit import Trial, run_sequential

    class FailsOnce(Trial):
        def command(self) -> list[str]:
            script = (
                "import pathlib, sys\n"
                f"run = pathlib.Path({self.run_dir!r})\n"
                "clean = not (run / 'csv').exists()\n"
                "(run / 'csv' / 'version_0').mkdir(parents=True)\n"
                "(run / 'csv' / 'version_0' / 'metrics.csv').write_text('x\\n')\n"
                "marker = run.parent / 'attempts'\n"
                "n = int(marker.read_text()) + 1 if marker.exists() else 1\n"
                "marker.write_text(str(n))\n"
                "if n == 2 and clean: (run / 'last.ckpt').write_bytes(b'')\n"
                "sys.exit(1 if n == 1 else 0)\n"
            )
            return [sys.executable, "-c", script]

    trial = FailsOnce(0, str(tmp_path / "runs" / "seed0"), [], str(tmp_path))
    results = run_sequential([trial], max_failures=1, kill_seeds=set())
    assert [row["returncode"] for row in results] == [0]
    assert (tmp_path / "runs" / "attempts").read_text() == "2"
    assert (tmp_path / "runs" / "seed0" / "last.ckpt").is_file()  # the retry found it clean


def test_output_names_are_those_the_writers_use() -> None:
    from offpcc_pl import outputs, policy
    from offpcc_pl.checkpointing.savers import run_checkpoints
    from offpcc_pl.commands.export import EXPORT_FILES
    from offpcc_pl.commands.runs import CSV_DIR

    saved = {f"{callback.filename}.ckpt" for callback in run_checkpoints("run")}
    assert saved == {outputs.LAST_CKPT, outputs.BEST_CKPT}
    assert outputs.CSV_DIR == CSV_DIR
    assert outputs.POLICY_DIR == policy.POLICY_DIR
    assert set(EXPORT_FILES) == {policy.POLICY_FILE, policy.ACTOR_FILE, policy.SUMMARIZER_FILE}
