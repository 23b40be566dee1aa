"""``offpcc-pl record | render | plot`` and one-line errors of the policy commands."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from offpcc_pl.commands.evaluate import evaluate_command
from offpcc_pl.commands.export import export_command
from offpcc_pl.commands.plot import aggregate, plot_command
from offpcc_pl.commands.record import record_command
from offpcc_pl.commands.render import render_command
from offpcc_pl.commands.runs import Curve, find_runs, read_metric
from offpcc_pl.envs.make import make_env
from offpcc_pl.nets import GaussianActor, Summarizer
from offpcc_pl.policy import PolicySpec, SummarizerSpec, load_policy, write_export

HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")} | {
    "WANDB_MODE": "offline"
}
BUMPS = "pbc-bumps-normal-pomdp-v0"


def random_policy(out: Path, env_id: str, recurrent: bool) -> Path:
    """An untrained SAC/RSAC export (recording doesn't need a good policy)."""
    env = make_env(env_id)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    summarizer = Summarizer(obs_dim, "lstm", 8, 1) if recurrent else None
    actor = GaussianActor(8 if recurrent else obs_dim, act_dim, [16])
    spec = PolicySpec(
        algorithm="RSAC" if recurrent else "SAC",
        env_id=env_id,
        obs_dim=obs_dim,
        act_dim=act_dim,
        actor="gaussian",
        hidden_sizes=[16],
        summarizer=SummarizerSpec("lstm", 1, 8) if recurrent else None,
    )
    return write_export(out, spec, actor.state_dict(), summarizer and summarizer.state_dict())


def episode_lengths(policy_dir: Path, episodes: int) -> list[int]:
    from offpcc_pl.envs.make import TEST_SEED

    policy = load_policy(policy_dir)
    env = make_env(policy.env_id)
    lengths = []
    for i in range(episodes):
        obs, _ = env.reset(seed=TEST_SEED + i)
        policy.reset()
        length, done = 0, False
        while not done:
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            length += 1
            done = terminated or truncated
        lengths.append(length)
    env.close()
    return lengths


def error_lines(stderr: str) -> list[str]:
    """stderr without pybullet's import banner."""
    return [line for line in stderr.splitlines() if line and "pybullet build time" not in line]


@pytest.mark.parametrize(
    ("env_id", "recurrent", "episodes"), [("Pendulum-v1", False, 1), (BUMPS, True, 2)]
)
def test_record_writes_one_mp4_per_episode(
    tmp_path: Path, env_id: str, recurrent: bool, episodes: int
) -> None:
    policy_dir = random_policy(tmp_path / "run" / "policy", env_id, recurrent)
    out = subprocess.run(
        [sys.executable, "-m", "offpcc_pl", "record", "--policy", str(policy_dir), "--episodes",
         str(episodes)],
        env=HEADLESS, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    videos = sorted((tmp_path / "run" / "videos").glob("*.mp4"))  # default: RUN/videos
    assert [v.name for v in videos] == [f"{env_id}-episode{i}.mp4" for i in range(episodes)]
    for video, length in zip(videos, episode_lengths(policy_dir, episodes), strict=True):
        assert video.stat().st_size > 1000
        reader = imageio.get_reader(video, "ffmpeg")
        frames = [frame for frame in reader]
        reader.close()
        assert len(frames) == length + 1  # the reset frame, then one per step
        assert frames[0].ndim == 3 and frames[0].std() > 0  # not a blank image


def test_record_max_steps_and_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    policy_dir = random_policy(tmp_path / "policy", "Pendulum-v1", recurrent=False)
    out = tmp_path / "clips"
    assert record_command(["--policy", str(policy_dir), "--max_steps", "5", "--out", str(out)]) == 0
    reader = imageio.get_reader(out / "Pendulum-v1-episode0.mp4", "ffmpeg")
    assert sum(1 for _ in reader) == 6
    assert "6 frames" in capsys.readouterr().out


def test_render_without_display_fails_with_one_line(tmp_path: Path) -> None:
    policy_dir = random_policy(tmp_path / "policy", "Pendulum-v1", recurrent=False)
    out = subprocess.run(
        [sys.executable, "-m", "offpcc_pl", "render", "--policy", str(policy_dir)],
        env=HEADLESS, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    lines = error_lines(out.stderr)
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("offpcc-pl render: error: no display") and "record" in lines[0]


BAD_INPUTS = [
    (evaluate_command, ["--ckpt_path", "missing.ckpt"], "checkpoint 'missing.ckpt' does not exist"),
    (evaluate_command, ["--policy", "missing_dir"], "policy dir 'missing_dir' does not exist"),
    (evaluate_command, ["--policy", "{policy}", "--episodes", "0"], "must be a positive integer"),
    (record_command, ["--policy", "{policy}", "--episodes", "-1"], "must be a positive integer"),
    (record_command, ["--ckpt_path", "missing.ckpt"], "does not exist"),
    (render_command, ["--policy", "{policy}", "--episodes", "0"], "must be a positive integer"),
    (export_command, ["--ckpt_path", "missing.ckpt"], "does not exist"),
    (evaluate_command, [], "one of the arguments --ckpt_path --policy is required"),
    (evaluate_command, ["--policy", "{policy}", "--ckpt_path", "x"], "not allowed with"),
    (evaluate_command, ["--policy", "{empty}"], "holds no exported policy"),
    (evaluate_command, ["--policy", "{policy}", "--env_id", BUMPS], "has (obs, act) dims (2, 2)"),
    (plot_command, ["missing_dir", "--out", "x.png"], "run dir 'missing_dir' does not exist"),
    (plot_command, ["{empty}", "--out", "x.png"], "no runs under"),
]


@pytest.mark.parametrize(("command", "args", "message"), BAD_INPUTS)
def test_bad_inputs_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    command,
    args: list[str],
    message: str,
) -> None:
    policy_dir = random_policy(tmp_path / "policy", "Pendulum-v1", recurrent=False)
    (tmp_path / "empty").mkdir()
    paths = {"policy": str(policy_dir), "empty": str(tmp_path / "empty")}
    monkeypatch.chdir(tmp_path)
    assert command([arg.format(**paths) for arg in args]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and message in lines[0], lines
    assert re.match(r"offpcc-pl \w+: error: ", lines[0])


def write_run(run_dir: Path, versions: list[list[dict[str, float]]]) -> None:
    """A run's CSV logs as Lightning's CSVLogger writes them (one file per version)."""
    for i, rows in enumerate(versions):
        path = run_dir / "csv" / f"version_{i}" / "metrics.csv"
        path.parent.mkdir(parents=True)
        keys = sorted({k for row in rows for k in row})
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)


def test_read_metric_concatenates_resumed_versions(tmp_path: Path) -> None:
    run = tmp_path / "Pendulum-v1-SAC" / "seed0"
    write_run(run, [
        [{"time/env_steps": 100, "test/episode_return": -900.0},
         {"time/env_steps": 150, "train/episode_return": -1000.0},
         {"time/env_steps": 200, "test/episode_return": -800.0}],  # killed after this row
        [{"time/env_steps": 200, "test/episode_return": -700.0},  # resumed from step 100
         {"time/env_steps": 300, "test/episode_return": -600.0}],
    ])  # fmt: skip
    curve = read_metric(run, "test/episode_return")
    assert curve.x.tolist() == [100, 200, 300]
    assert curve.y.tolist() == [-900.0, -700.0, -600.0]
    assert read_metric(run, "test/success_rate") is None
    assert find_runs(tmp_path) == [run]


def test_aggregate_interpolates_onto_shared_steps() -> None:
    a = Curve(np.array([0.0, 10.0, 20.0]), np.array([0.0, 10.0, 20.0]))
    b = Curve(np.array([0.0, 20.0]), np.array([2.0, 22.0]))
    x, mean, std = aggregate([a, b])
    assert x.tolist() == [0.0, 10.0, 20.0]
    assert mean.tolist() == [1.0, 11.0, 21.0] and std.tolist() == [1.0, 1.0, 1.0]


def test_plot_groups_and_success_panel(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for algo in ("RSAC", "SAC"):
        for seed in (0, 1):
            rows = [
                {"time/env_steps": 1000 * k, "test/episode_return": k + seed + (algo == "RSAC"),
                 "test/success_rate": 0.1 * k}
                for k in range(1, 4)
            ]  # fmt: skip
            write_run(tmp_path / "runs" / f"{BUMPS}-{algo}" / f"seed{seed}", [rows])
    out = tmp_path / "fig.png"
    assert plot_command([str(tmp_path / "runs"), "--out", str(out)]) == 0
    assert f"{BUMPS}-RSAC: 2 runs" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1200, 400)  # two panels
    labelled = tmp_path / "labelled.png"
    args = [str(tmp_path / "runs" / f"{BUMPS}-SAC"), "--label", "ours", "--out", str(labelled)]
    assert plot_command([*args, "--metric", "test/episode_return"]) == 0
    assert "ours: 2 runs" in capsys.readouterr().out
