"""Recurrent agents: the masked sequence update against its special cases."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from offpcc_pl.algorithms import DDPG, RDPG, RTD3
from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.buffers import Batch, EpisodeBuffer
from offpcc_pl.envs.make import make_env
from offpcc_pl.loop import make_buffer
from offpcc_pl.nets import PassThrough

SMALL = {"hidden_sizes": (16, 16), "summarizer_hidden": 8, "summarizer_layers": 1}


def detached_update(module: OffPolicyModule, batch: Batch) -> dict[str, float]:
    """One update outside a Trainer; returns the logged losses (grads stay on the params)."""
    optimizers = module.configure_optimizers()
    module.optimizers = lambda: optimizers
    module.manual_backward = lambda loss: loss.backward()
    module.update(batch)
    return {k: float(v) for k, v in module._sums.items()}


def grads(module: OffPolicyModule) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


def filled_buffer(module: OffPolicyModule, episodes: int = 6) -> EpisodeBuffer:
    env = make_env(module.hparams.env_id, history=module.history)
    buffer = make_buffer(env, None, episodes=True)  # the buffer a fit makes
    rng = np.random.default_rng(0)
    for e in range(episodes):
        length = int(rng.integers(5, 30))
        for t in range(length):
            obs, next_obs = rng.normal(size=(2, module.obs_dim)).astype(np.float32)
            act = rng.uniform(-1, 1, module.act_dim).astype(np.float32)
            buffer.add(
                obs,
                act,
                float(rng.normal()),
                next_obs,
                e % 2 == 0 and t == length - 1,
                t == length - 1,
            )
    return buffer


def assert_same_update(a: OffPolicyModule, b: OffPolicyModule, batch_a: Batch, batch_b: Batch):
    losses_a, losses_b = detached_update(a, batch_a), detached_update(b, batch_b)
    assert losses_a.keys() == losses_b.keys()
    for key in losses_a:
        assert losses_a[key] == pytest.approx(losses_b[key], rel=1e-5, abs=1e-6), key
    grads_a, grads_b = grads(a), grads(b)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6), name


@pytest.mark.parametrize("cls", [RDPG, RTD3])
def test_window_covering_the_episode_equals_full_episode(cls: type) -> None:
    torch.manual_seed(0)
    extra = {"target_noise": 0.0} if cls is RTD3 else {}
    full = cls(env_id="pendulum-p-v0", **SMALL, **extra)
    windowed = cls(env_id="pendulum-p-v0", window=200, burn_in=0, **SMALL, **extra)
    windowed.load_state_dict(full.state_dict())
    buffer = filled_buffer(full)
    batch_full = buffer.sample(4, np.random.default_rng(3))
    batch_window = buffer.sample(4, np.random.default_rng(3), window=200, burn_in=0)
    assert batch_window.obs.shape[1] == 201 > batch_full.obs.shape[1]  # padded further
    assert_same_update(full, windowed, batch_full, batch_window)


def test_padding_content_never_changes_the_update() -> None:
    torch.manual_seed(0)
    clean = RDPG(env_id="pendulum-p-v0", **SMALL)
    garbage = copy.deepcopy(clean)
    batch = filled_buffer(clean).sample(4, np.random.default_rng(1))
    pad = batch.mask == 0  # (B, T, 1)
    noisy = copy.deepcopy(batch)
    noise = torch.full_like(noisy.act, 1e3)
    noisy.act = torch.where(pad, noise, noisy.act)
    noisy.rew = torch.where(pad, noise[..., :1], noisy.rew)
    noisy.done = torch.where(pad, torch.ones_like(noisy.done), noisy.done)
    lengths = batch.mask[:, :, 0].sum(1).long()  # obs[:, :len+1] are real
    for i, n in enumerate(lengths.tolist()):
        noisy.obs[i, n + 1 :] = 1e3
    assert_same_update(clean, garbage, batch, noisy)


def test_identity_summarizer_on_one_step_batches_gives_the_feed_forward_update() -> None:
    torch.manual_seed(0)
    ff = DDPG(env_id="Pendulum-v1", hidden_sizes=(16, 16))
    rec = RDPG(env_id="Pendulum-v1", hidden_sizes=(16, 16), summarizer_hidden=ff.obs_dim)
    for name in ("critic_encoders", "critic_encoder_targets"):
        setattr(rec, name, torch.nn.ModuleList([PassThrough(ff.obs_dim)]))
    rec.actor_encoder = rec.actor_encoder_target = PassThrough(ff.obs_dim)
    for name in ("actor", "critics", "critic_targets", "actor_target"):
        getattr(rec, name).load_state_dict(getattr(ff, name).state_dict())
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        obs=torch.randn(32, 2, ff.obs_dim, generator=g),
        act=torch.rand(32, 1, 1, generator=g) * 2 - 1,
        rew=torch.randn(32, 1, 1, generator=g),
        done=(torch.rand(32, 1, 1, generator=g) < 0.2).float(),
    )
    with_mask = copy.deepcopy(batch)
    with_mask.mask = torch.ones(32, 1, 1)
    assert_same_update(ff, rec, batch, with_mask)


def test_summarizer_lr_reaches_the_optimizers_param_groups() -> None:
    """The summarizers of the actor and the critics learn at ``summarizer_lr``; everything
    else (heads, temperature) at ``lr``; without it every group keeps ``lr``."""
    from offpcc_pl.algorithms import RSAC

    module = RSAC(env_id="car-top-v0", lr=1e-3, summarizer_lr=3e-5, **SMALL)
    critic_opt, actor_opt, alpha_opt = module.configure_optimizers()
    summarizer_ids = {
        id(p) for m in [*module.critic_encoders, module.actor_encoder] for p in m.parameters()
    }
    for optimizer in (critic_opt, actor_opt):
        heads, summarizers = optimizer.param_groups
        assert heads["lr"] == 1e-3 and summarizers["lr"] == 3e-5
        assert summarizers["params"] and {id(p) for p in summarizers["params"]} <= summarizer_ids
        assert not {id(p) for p in heads["params"]} & summarizer_ids
    assert [g["lr"] for g in alpha_opt.param_groups] == [1e-3]
    every = {
        id(p)
        for opt in (critic_opt, actor_opt, alpha_opt)
        for g in opt.param_groups
        for p in g["params"]
    }
    assert every == {id(p) for p in module.parameters() if p.requires_grad}

    plain = RSAC(env_id="car-top-v0", lr=1e-3, **SMALL)
    assert [len(opt.param_groups) for opt in plain.configure_optimizers()] == [1, 1, 1]


def test_summarizer_lr_is_applied_in_a_fit(workdir: Path) -> None:
    """Through the CLI: the saved optimizer states carry the summarizers' own rate."""
    from tests.conftest import run_cli, tiny_args

    args = [*tiny_args("RSAC"), "--model.summarizer_lr", "2e-5", "--trainer.max_epochs", "1"]
    out = run_cli("fit", *args, "--trainer.default_root_dir", "run", cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    ckpt = torch.load(workdir / "run" / "last.ckpt", weights_only=True)  # as evaluate loads it
    rates = [[g["lr"] for g in state["param_groups"]] for state in ckpt["optimizer_states"]]
    assert rates[:2] == [[ckpt["hyper_parameters"]["lr"], 2e-5]] * 2
    assert ckpt["hyper_parameters"]["summarizer_lr"] == 2e-5


def test_resume_that_adds_a_summarizer_lr_is_refused_in_one_line(workdir: Path) -> None:
    from tests.conftest import run_cli, tiny_args

    args = [*tiny_args("RSAC"), "--trainer.default_root_dir", "run"]
    out = run_cli("fit", *args, "--trainer.max_epochs", "1", cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    before = (workdir / "run" / "last.ckpt").read_bytes()
    resumed = run_cli(
        "fit",
        *args,
        "--trainer.max_epochs",
        "2",
        "--model.summarizer_lr",
        "1e-5",
        "--ckpt_path",
        "last",
        cwd=workdir,
    )
    assert resumed.returncode == 2, resumed.stderr[-2000:]
    lines = resumed.stderr.strip().splitlines()
    assert "summarizer_lr" in lines[-1] and "Traceback" not in resumed.stderr
    assert (workdir / "run" / "last.ckpt").read_bytes() == before
