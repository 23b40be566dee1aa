"""Image observations through the whole stack, on a tiny pixel env made here:
every algorithm trains from uint8 frames, only the critic loss trains the conv encoder, an
image run resumes exactly, and the exported policy evaluates and records."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml
from gymnasium import spaces
from gymnasium.envs.classic_control import PendulumEnv

from offpcc_pl.algorithms import ALGORITHMS, SAC, OffPolicyModule
from offpcc_pl.algorithms.update import embed_images
from offpcc_pl.buffers import TransitionBuffer, default_capacity
from offpcc_pl.commands.evaluate import evaluate_command
from offpcc_pl.commands.record import record_command
from offpcc_pl.encoders import ConvEncoder
from offpcc_pl.envs.make import TEST_SEED, make_env
from offpcc_pl.errors import ConfigError
from offpcc_pl.loop import ReplayCallback
from offpcc_pl.policy import export_module, load_policy
from offpcc_pl.rollout import play_episode
from tests.test_loop import quiet_trainer
from tests.test_recurrent import detached_update

PIXELS = "test-pixel-pendulum-v0"
SHAPE = (2, 16, 16)  # the smallest frames the seed's conv stack takes (15x15)


class PixelPendulum(gymnasium.ObservationWrapper):
    """Pendulum-v1 seen as a (2, 16, 16) uint8 image: the pole's tip lit in channel 0, the
    angular velocity as the grey level of channel 1. Pure Python, so its state is saved."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(0, 255, SHAPE, np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        cos, sin, velocity = observation
        image = np.zeros(SHAPE, dtype=np.uint8)
        row, col = int(round(7.5 - 6 * cos)), int(round(7.5 + 6 * sin))
        image[0, row - 1 : row + 2, col - 1 : col + 2] = 255
        image[1] = np.uint8(round((velocity + 8.0) / 16.0 * 255))
        return image


def make_pixel_pendulum(render_mode: str | None = None) -> gymnasium.Env:
    return PixelPendulum(PendulumEnv(render_mode=render_mode))


if PIXELS not in gymnasium.registry:
    gymnasium.register(PIXELS, entry_point=make_pixel_pendulum, max_episode_steps=10)


def tiny(name: str, **options: object) -> OffPolicyModule:
    small: dict[str, object] = {"hidden_sizes": (8, 8), "image_embedding": 8, "eval_episodes": 1}
    small |= {"update_after": 15, "batch_size": 4}
    if name.startswith("R"):
        small |= {"summarizer_hidden": 8, "summarizer_layers": 1, "batch_size": 2}
    torch.manual_seed(0)
    return ALGORITHMS[name](env_id=PIXELS, **{**small, **options})


def replay_of(trainer: pl.Trainer) -> ReplayCallback:
    return next(c for c in trainer.callbacks if isinstance(c, ReplayCallback))


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_trains_from_uint8_frames(name: str) -> None:
    module = tiny(name)
    assert isinstance(module.image_encoder, ConvEncoder) and module.obs_shape == SHAPE
    trainer = quiet_trainer(30)
    trainer.fit(module)
    replay = replay_of(trainer)
    assert replay.buffer.obs.dtype == np.uint8 and replay.buffer.obs.shape[-3:] == SHAPE
    assert module.n_updates == 15
    batch = next(iter(module.train_dataloader()))[0]
    frames = batch.obs  # (B, T+1, C, H, W) still uint8: it becomes float on the device
    assert frames.dtype == torch.uint8 and frames.shape[2:] == SHAPE
    obs, target_obs = embed_images(module, frames)
    assert obs.shape == target_obs.shape == (*frames.shape[:2], 8)
    act, _ = module.policy(deterministic=True).act(replay.obs, None)
    assert act.shape == (1,) and -1.0 <= act[0] <= 1.0


def test_the_critic_loss_alone_trains_the_encoder() -> None:
    module = tiny("SAC")
    buffer = TransitionBuffer(SHAPE, 1, capacity=16, obs_dtype=np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(16):
        obs, next_obs = rng.integers(0, 256, (2, *SHAPE), dtype=np.uint8)
        buffer.add(obs, rng.uniform(-1, 1, 1), float(rng.normal()), next_obs, False, False)
    optimizers = module.configure_optimizers()
    critic_ids = {id(p) for group in optimizers[0].param_groups for p in group["params"]}
    actor_ids = {id(p) for group in optimizers[1].param_groups for p in group["params"]}
    encoder = list(module.image_encoder.parameters())
    assert {id(p) for p in encoder} <= critic_ids and not {id(p) for p in encoder} & actor_ids
    after_critic: list[torch.Tensor] = []
    critic_step = optimizers[0].step

    def step_and_record() -> None:
        after_critic.extend(p.grad.clone() for p in encoder)
        critic_step()

    optimizers[0].step = step_and_record
    module.configure_optimizers = lambda: optimizers
    detached_update(module, buffer.sample(8, rng))
    assert any(g.abs().sum() > 0 for g in after_critic)
    for grad, param in zip(after_critic, encoder):  # the actor step added nothing
        assert torch.equal(param.grad, grad)


def test_uint8_frames_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    module = tiny("SAC", update_after=100)
    trainer = quiet_trainer(12)
    trainer.fit(module)
    trainer.save_checkpoint(tmp_path / "run.ckpt")
    saved = torch.load(tmp_path / "run.ckpt", weights_only=True)["callbacks"]["ReplayCallback"]
    assert saved["buffer"]["obs"].dtype == torch.uint8 and saved["buffer"]["obs"].shape == (
        12, 2, *SHAPE,
    )  # fmt: skip
    buffer = replay_of(trainer).buffer
    copy = TransitionBuffer(SHAPE, 1, capacity=12, obs_dtype=np.uint8)
    copy.load_state_dict(saved["buffer"])
    np.testing.assert_array_equal(copy.obs, buffer.obs[:12])
    env = make_env(PIXELS)
    first, _ = env.reset(seed=0)  # the run's first episode (seed_everything 0)
    np.testing.assert_array_equal(copy.obs[0, 0], first)


class SaveAtEnd(pl.Callback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path)


@pytest.mark.parametrize("name", ["SAC", "RTD3"])
def test_an_image_run_resumes_exactly(name: str, tmp_path: Path) -> None:
    """Two epochs straight equal one epoch plus a resumed one (ending mid-episode)."""

    def fit(epochs: int, ckpt: Path | None = None, save: Path | None = None) -> pl.Trainer:
        pl.seed_everything(0, verbose=False)
        trainer = quiet_trainer(25, max_epochs=epochs)
        if save is not None:
            trainer.callbacks.append(SaveAtEnd(save))
        trainer.fit(tiny(name, update_after=12), ckpt_path=ckpt)
        return trainer

    straight = fit(2)
    fit(1, save=tmp_path / "mid.ckpt")
    resumed = fit(2, ckpt=tmp_path / "mid.ckpt")
    a, b = straight.lightning_module.state_dict(), resumed.lightning_module.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    np.testing.assert_array_equal(replay_of(straight).buffer.obs, replay_of(resumed).buffer.obs)


@pytest.mark.parametrize("name", ["SAC", "RSAC"])
def test_an_image_policy_exports_evaluates_and_records(name: str, tmp_path: Path) -> None:
    module = tiny(name)
    trainer = quiet_trainer(20)
    trainer.fit(module)
    policy = load_policy(export_module(module, tmp_path / "policy"))
    assert policy.spec.image_shape == list(SHAPE) and policy.obs_shape == SHAPE
    env = make_env(PIXELS)
    live = play_episode(module.policy(deterministic=True), env, TEST_SEED).episode_return
    assert play_episode(policy, env, TEST_SEED).episode_return == pytest.approx(live)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    from_ckpt = load_policy(tmp_path / "last.ckpt")
    assert play_episode(from_ckpt, env, TEST_SEED).episode_return == pytest.approx(live)
    out = tmp_path / "eval.json"
    policy_dir = str(tmp_path / "policy")
    assert evaluate_command(["--policy", policy_dir, "--episodes", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["episodes"][0]["episode_return"] == pytest.approx(live)
    videos = tmp_path / "videos"
    assert record_command(["--policy", policy_dir, "--max_steps", "3", "--out", str(videos)]) == 0
    assert (videos / f"{PIXELS}-episode0.mp4").stat().st_size > 0


def test_image_options_that_cannot_work_are_refused() -> None:
    with pytest.raises(ConfigError, match="summarizer_inputs 'obs_act'.*observes images"):
        tiny("RSAC", summarizer_inputs="obs_act")
    with pytest.raises(ConfigError, match=r"does not fit .* set --model.capacity to at most"):
        quiet_trainer(5).fit(tiny("SAC", capacity=10**9))


@pytest.mark.parametrize("config", ["sac_cartpole_img", "sac_walker_img"])
def test_image_configs_build_the_seeds_agent(config: str) -> None:
    path = Path(__file__).parents[1] / "configs" / f"{config}.yaml"
    settings = yaml.safe_load(path.read_text())
    module = SAC(**settings["model"]["init_args"])
    assert module.obs_shape == (3, 84, 84) and module.obs_dim == 50
    assert module.image_encoder.head[0].in_features == 32 * 35 * 35
    capacity = module.hparams.capacity or default_capacity(module.images, None)  # a fit's
    assert (capacity, module.hparams.image_shift) == (100_000, 4)
    assert (module.hparams.batch_size, module.hparams.update_after) == (100, 1000)
    assert settings["trainer"]["limit_train_batches"] == 1000
