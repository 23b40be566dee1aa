"""Speed benchmark: offpcc-pl against Stable-Baselines3 and plain PyTorch, in one run.

    python benchmarks/speed.py                 # sac, rsac and image parts
    python benchmarks/speed.py --part sac --steps 3000 --repeats 3 --threads 1
    python benchmarks/speed.py --part rsac --updates 20
    python benchmarks/speed.py --part image --updates 20
    python benchmarks/speed.py --part compile  # on a GPU machine: the one command to run
    python benchmarks/speed.py --part compile --env HalfCheetah-v5 --steps 2000
    python benchmarks/speed.py --part profile --updates 50   # where an update's time goes

Part ``sac``: env steps/s of SAC on Pendulum-v1 with one update per step (batch 256,
256x256 nets), counted after warm-up: offpcc-pl through the whole Lightning stack
(``Trainer.fit``), SB3's SAC, and a plain PyTorch loop of the same math. ``--repeats``
runs the three in turn that many times and prints medians: on a shared machine the load
drifts, and interleaving gives each the same share of it. Beside the wall-clock rate it
prints the rate in CPU time of the process (steps per CPU second), which load from other
processes disturbs less; ratios of either are the figures to compare.
Part ``compile``: eager against ``--model.compile`` on ``--device`` (default: CUDA where
there is one, else CPU): SAC updates/s (batch 256, 256x256), RSAC updates/s at the seed
setting, and SAC env steps/s of a whole fit on ``--env``. Compile time is excluded (one
warm-up update, or the warm-up steps of the fit, come first).
Part ``rsac``: RSAC gradient updates/s on batches of 10 episodes x 200 steps with 2x256
LSTM summarizers (actor, Q1, Q2 separate), our update against a plain PyTorch update of the
same math, plus the cheaper options (window 50, critics sharing a summarizer).
Part ``image``: SAC gradient updates/s with the agent of ``configs/sac_cartpole_img.yaml``
(batch 100 of 3x84x84 uint8 frame pairs, the seed's conv encoder, DrQ shift 4; random
frames: the cost does not depend on their content), with and without the shift, and env
steps/s of acting in the dm_control image env (MuJoCo rendering included).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import time
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from offpcc_pl.algorithms import RSAC, SAC
from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.envs.make import make_env
from offpcc_pl.loop import ReplayCallback, find_replay, make_buffer

warnings.filterwarnings("ignore")
HIDDEN = 256


# -- plain PyTorch reference (CleanRL-style SAC; independent of offpcc_pl) ---------------------


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class PlainSAC:
    """Twin critics, tanh-Gaussian actor, auto-alpha; inputs are (B, F) features."""

    def __init__(self, feat_dim: int, act_dim: int, lr: float = 3e-4) -> None:
        self.actor = mlp([feat_dim, HIDDEN, HIDDEN, 2 * act_dim])
        self.q1, self.q2 = (mlp([feat_dim + act_dim, HIDDEN, HIDDEN, 1]) for _ in range(2))
        self.q1_t, self.q2_t = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -act_dim
        self.q_opt = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()], lr=lr)
        self.pi_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.a_opt = torch.optim.Adam([self.log_alpha], lr=lr)

    def sample(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.actor(feat).chunk(2, -1)
        std = log_std.clamp(-20, 2).exp()
        u = mean + std * torch.randn_like(mean)
        logp = torch.distributions.Normal(mean, std).log_prob(u).sum(-1, keepdim=True)
        logp = logp - (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1, keepdim=True)
        return torch.tanh(u), logp

    def update(self, feat, act, rew, next_feat, done, mask=None, encoders=None) -> None:
        def mean(x):
            return x.mean() if mask is None else (x * mask).sum() / mask.sum()

        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            next_act, next_logp = self.sample(next_feat)
            na = torch.cat([next_feat, next_act], -1)
            next_q = torch.min(self.q1_t(na), self.q2_t(na)) - alpha * next_logp
            target = rew + 0.99 * (1 - done) * next_q
        sa = torch.cat([feat, act], -1)
        q_loss = mean((self.q1(sa) - target) ** 2) + mean((self.q2(sa) - target) ** 2)
        self.q_opt.zero_grad()
        q_loss.backward()
        self.q_opt.step()
        pi_act, logp = self.sample(feat.detach())
        sa_pi = torch.cat([feat.detach(), pi_act], -1)
        pi_loss = mean(alpha * logp - torch.min(self.q1(sa_pi), self.q2(sa_pi)))
        self.pi_opt.zero_grad()
        pi_loss.backward()
        self.pi_opt.step()
        a_loss = -mean(self.log_alpha * (logp.detach() + self.target_entropy))
        self.a_opt.zero_grad()
        a_loss.backward()
        self.a_opt.step()
        with torch.no_grad():
            for net, tgt in ((self.q1, self.q1_t), (self.q2, self.q2_t)):
                for p, tp in zip(net.parameters(), tgt.parameters()):
                    tp.lerp_(p, 0.005)


def plain_sac_steps_per_s(warmup: int, steps: int, batch: int) -> tuple[float, float]:
    env = gymnasium.make("Pendulum-v1")
    agent = PlainSAC(3, 1)
    size = warmup + steps
    obs_buf, next_buf = np.zeros((size, 3), np.float32), np.zeros((size, 3), np.float32)
    act_buf, rew_buf, done_buf = (np.zeros((size, 1), np.float32) for _ in range(3))
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    clock = Clock()
    for t in range(size):
        if t == warmup:
            clock.start()
        if t < warmup:
            act = rng.uniform(-1, 1, 1).astype(np.float32)
        else:
            with torch.no_grad():
                act = agent.sample(torch.as_tensor(obs).view(1, -1))[0].numpy()[0]
        next_obs, rew, terminated, truncated, _ = env.step(2 * act)
        obs_buf[t], act_buf[t], rew_buf[t], next_buf[t], done_buf[t] = (
            obs,
            act,
            rew,
            next_obs,
            terminated,
        )
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
        if t >= warmup:
            idx = rng.integers(0, t + 1, batch)
            agent.update(
                *(torch.from_numpy(b[idx]) for b in (obs_buf, act_buf, rew_buf, next_buf, done_buf))
            )
    clock.stop()
    return clock.rates(steps)


# -- offpcc-pl and SB3 -----------------------------------------------------------------------


class Clock:
    """Wall and process CPU time between ``start()`` and ``stop()``; ``rates(n)`` gives
    ``n`` per wall second and per CPU second."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rates(self, n: int) -> tuple[float, float]:
        return n / self.wall, n / self.cpu


class StepClock(pl.Callback):
    """Times from the first update to the end of fit."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.clock = warmup, Clock()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if find_replay(trainer).env_steps == self.warmup:
            _sync(pl_module.device)
            self.clock.start()

    def on_train_end(self, trainer, pl_module) -> None:
        _sync(pl_module.device)
        self.clock.stop()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ours_sac_steps_per_s(
    warmup: int,
    steps: int,
    batch: int,
    env_id: str = "Pendulum-v1",
    device: str = "cpu",
    compile: bool = False,
    untimed: int = 0,
) -> tuple[float, float]:
    """``steps`` timed env steps after ``warmup`` random ones and ``untimed`` updating ones
    (where compile time goes)."""
    pl.seed_everything(0, verbose=False)
    module = SAC(
        env_id=env_id, batch_size=batch, update_after=warmup, eval_episodes=1, compile=compile
    )
    step_clock = StepClock(warmup + untimed)
    trainer = pl.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        max_epochs=1,
        limit_train_batches=warmup + untimed + steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        inference_mode=False,
        callbacks=[ReplayCallback(), step_clock],
    )
    trainer.fit(module)
    return step_clock.clock.rates(steps)


def sb3_sac_steps_per_s(warmup: int, steps: int, batch: int) -> tuple[float, float]:
    from stable_baselines3 import SAC as SB3SAC
    from stable_baselines3.common.callbacks import BaseCallback

    clock = Clock()

    class StartClock(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps == warmup:
                clock.start()
            return True

    model = SB3SAC(
        "MlpPolicy",
        "Pendulum-v1",
        batch_size=batch,
        learning_starts=warmup,
        policy_kwargs={"net_arch": [HIDDEN, HIDDEN]},
        seed=0,
        device="cpu",
    )
    model.learn(warmup + steps, callback=StartClock())
    clock.stop()
    return clock.rates(steps)


# -- recurrent updates -------------------------------------------------------------------------


def buffer_of(module: OffPolicyModule):
    """The replay buffer a fit of ``module`` makes."""
    env = make_env(module.hparams.env_id, history=module.history)
    return make_buffer(env, module.hparams.capacity, episodes=module.memory is not None)


def episode_batch(module: RSAC, episodes: int = 10, length: int = 200):
    buffer = buffer_of(module)
    rng = np.random.default_rng(0)
    for _ in range(50):
        for t in range(length):
            obs, nxt = rng.normal(size=(2, module.obs_dim)).astype(np.float32)
            buffer.add(
                obs,
                rng.uniform(-1, 1, module.act_dim).astype(np.float32),
                float(rng.normal()),
                nxt,
                False,
                t == length - 1,
            )
    m = module.memory
    return [buffer.sample(episodes, rng, m.window, m.burn_in) for _ in range(4)]


def timed_updates_per_s(
    module, batches, updates: int, device: str = "cpu", profile: int = 0
) -> float:
    """Our ``update`` outside a Trainer on ``device``, after two warm-up updates (which
    compile, where ``compile`` is on); ``profile``: print the top rows of a
    ``torch.profiler`` table of the timed updates, by self CPU time."""
    module.to(device)
    batches = [b.to(device) for b in batches]
    optimizers = module.configure_optimizers()
    module.optimizers = lambda: optimizers
    module.manual_backward = lambda loss: loss.backward()
    for batch in batches[:2]:  # warm-up: compiles, and TD3-style delays see both branches
        module.update(batch)
    _sync(module.device)
    profiler = torch.profiler.profile() if profile else contextlib.nullcontext()
    with profiler:
        start = time.perf_counter()
        for i in range(updates):
            module.update(batches[i % len(batches)])
        _sync(module.device)
        seconds = time.perf_counter() - start
    if profile:
        table = profiler.key_averages().table
        print(table(sort_by="self_cpu_time_total", row_limit=profile))
        if module.device.type == "cuda":
            print(table(sort_by="self_device_time_total", row_limit=profile // 2))
    return updates / seconds


def ours_rsac_updates_per_s(
    updates: int, device: str = "cpu", profile: int = 0, **options
) -> float:
    module = RSAC(env_id="pendulum-p-v0", **options)
    return timed_updates_per_s(module, episode_batch(module), updates, device, profile)


def ours_sac_updates_per_s(
    updates: int, device: str = "cpu", env_id: str = "Pendulum-v1", profile: int = 0, **options
) -> float:
    """SAC updates/s on random transitions of ``env_id``'s shapes, batch 256, 256x256."""
    module = SAC(env_id=env_id, batch_size=256, **options)
    buffer, rng = buffer_of(module), np.random.default_rng(0)
    for _ in range(5000):
        obs, nxt = rng.normal(size=(2, module.obs_dim)).astype(np.float32)
        act = rng.uniform(-1, 1, module.act_dim).astype(np.float32)
        buffer.add(obs, act, float(rng.normal()), nxt, False, False)
    batches = [buffer.sample(256, rng) for _ in range(8)]
    return timed_updates_per_s(module, batches, updates, device, profile)


# -- image updates -----------------------------------------------------------------------------

IMAGE_CONFIG = Path(__file__).parents[1] / "configs" / "sac_cartpole_img.yaml"


def image_agent(**overrides) -> SAC:
    settings = yaml.safe_load(IMAGE_CONFIG.read_text())["model"]["init_args"]
    return SAC(**{**settings, "capacity": 1000, **overrides})


def image_updates_per_s(updates: int, **overrides) -> float:
    module = image_agent(**overrides)
    buffer, rng = buffer_of(module), np.random.default_rng(0)
    for _ in range(buffer.capacity):
        obs, nxt = rng.integers(0, 256, (2, *module.obs_shape), dtype=np.uint8)
        buffer.add(obs, rng.uniform(-1, 1, module.act_dim), float(rng.normal()), nxt, False, False)
    batches = [buffer.sample(module.hparams.batch_size, rng) for _ in range(4)]
    return timed_updates_per_s(module, batches, updates)


def image_acting_steps_per_s(steps: int) -> float:
    """Env steps/s of the acting loop alone: render, encode, act (no update)."""
    module = image_agent()
    env = make_env(module.hparams.env_id)
    policy = module.policy(deterministic=False)
    obs, _ = env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        act, _ = policy.act(obs, None)
        obs, _, terminated, truncated, _ = env.step(act)
        if terminated or truncated:
            obs, _ = env.reset()
    return steps / (time.perf_counter() - start)


def plain_rsac_updates_per_s(updates: int, batches) -> float:
    """Three separate 2x256 LSTMs (actor, Q1, Q2) + target LSTMs for the critics."""
    lstm = {k: nn.LSTM(2, 256, 2, batch_first=True) for k in ("pi", "q1", "q2")}
    targets = {k: copy.deepcopy(lstm[k]) for k in ("q1", "q2")}
    agent = PlainSAC(256, 1)
    q_params = [*lstm["q1"].parameters(), *lstm["q2"].parameters()]
    agent.q_opt = torch.optim.Adam([*agent.q1.parameters(), *agent.q2.parameters(), *q_params])
    agent.pi_opt = torch.optim.Adam([*agent.actor.parameters(), *lstm["pi"].parameters()])

    def update(b) -> None:
        h_pi = lstm["pi"](b.obs)[0]
        h1, h2 = lstm["q1"](b.obs)[0], lstm["q2"](b.obs)[0]
        with torch.no_grad():
            t1, t2 = targets["q1"](b.obs)[0], targets["q2"](b.obs)[0]
            next_act, next_logp = agent.sample(h_pi.detach()[:, 1:])
            alpha = agent.log_alpha.exp()
            na1, na2 = torch.cat([t1[:, 1:], next_act], -1), torch.cat([t2[:, 1:], next_act], -1)
            target = b.rew + 0.99 * (1 - b.done) * (
                torch.min(agent.q1_t(na1), agent.q2_t(na2)) - alpha * next_logp
            )
        mask = b.mask
        sa1, sa2 = torch.cat([h1[:, :-1], b.act], -1), torch.cat([h2[:, :-1], b.act], -1)
        q_loss = (((agent.q1(sa1) - target) ** 2 + (agent.q2(sa2) - target) ** 2) * mask).sum()
        agent.q_opt.zero_grad()
        (q_loss / mask.sum()).backward()
        agent.q_opt.step()
        act, logp = agent.sample(h_pi[:, :-1])
        q = torch.min(
            agent.q1(torch.cat([h1[:, :-1].detach(), act], -1)),
            agent.q2(torch.cat([h2[:, :-1].detach(), act], -1)),
        )
        pi_loss = ((alpha * logp - q) * mask).sum() / mask.sum()
        agent.pi_opt.zero_grad()
        pi_loss.backward()
        agent.pi_opt.step()
        a_loss = -((agent.log_alpha * (logp.detach() - 1)) * mask).sum() / mask.sum()
        agent.a_opt.zero_grad()
        a_loss.backward()
        agent.a_opt.step()
        with torch.no_grad():
            for net, tgt in (
                (agent.q1, agent.q1_t),
                (agent.q2, agent.q2_t),
                (lstm["q1"], targets["q1"]),
                (lstm["q2"], targets["q2"]),
            ):
                for p, tp in zip(net.parameters(), tgt.parameters()):
                    tp.lerp_(p, 0.005)

    update(batches[0])
    start = time.perf_counter()
    for i in range(updates):
        update(batches[i % len(batches)])
    return updates / (time.perf_counter() - start)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = Path("/proc/cpuinfo").read_text().split("model name")
        cpu = names[1].split(":", 1)[1].splitlines()[0].strip()
    except (OSError, IndexError):
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu} ({os.cpu_count()} cores){gpu}"


def sac_part(warmup: int, steps: int, repeats: int) -> None:
    """Ours, SB3 and plain PyTorch in turn, ``repeats`` times; medians and their ratios."""
    runs = {"offpcc-pl (Lightning)": [], "Stable-Baselines3": [], "plain PyTorch": []}
    for _ in range(repeats):
        for name, run in zip(
            runs, (ours_sac_steps_per_s, sb3_sac_steps_per_s, plain_sac_steps_per_s)
        ):
            runs[name].append(run(warmup, steps, 256))
    wall = {k: float(np.median([r[0] for r in v])) for k, v in runs.items()}
    cpu = {k: float(np.median([r[1] for r in v])) for k, v in runs.items()}
    ours = "offpcc-pl (Lightning)"
    print(f"\nSAC Pendulum-v1, batch 256, 256x256, 1 update/step, {steps} steps, ", end="")
    print(f"median of {repeats} interleaved run(s)")
    print(f"{'':24}{'env steps/s':>12}{'ours / it':>11}{'per CPU s':>11}{'ours / it':>11}")
    for name in runs:
        print(
            f"{name:24}{wall[name]:12.1f}{wall[ours] / wall[name]:11.2f}"
            f"{cpu[name]:11.1f}{cpu[ours] / cpu[name]:11.2f}"
        )


def compile_part(device: str, env_id: str, warmup: int, steps: int, updates: int) -> None:
    """Eager against ``compile=True`` on ``device``: updates/s and a fit's env steps/s; on
    CUDA also RSAC at the seed setting on this machine's CPU, eager, for GPU against CPU."""
    print(f"\neager vs --model.compile true on {device}")
    print(f"{'':52}{'eager':>9}{'compiled':>10}{'ratio':>7}")
    seed_setting = {"summarizer": "lstm", "summarizer_layers": 2, "summarizer_hidden": 256}
    rows = [
        (f"SAC updates/s, {env_id} batch 256", ours_sac_updates_per_s, {"env_id": env_id}),
        ("RSAC updates/s, seed setting (10 x 200 steps)", ours_rsac_updates_per_s, seed_setting),
    ]
    for name, run, options in rows:
        eager = run(updates, device, **options)
        compiled = run(updates, device, compile=True, **options)
        print(f"{name:52}{eager:9.2f}{compiled:10.2f}{compiled / eager:7.2f}", flush=True)
    fit = {"env_id": env_id, "device": device, "untimed": 20}  # 20 updates compile
    eager = ours_sac_steps_per_s(warmup, steps, 256, **fit)
    compiled = ours_sac_steps_per_s(warmup, steps, 256, compile=True, **fit)
    name = f"SAC env steps/s, fit on {env_id}, batch 256"
    print(f"{name:52}{eager[0]:9.2f}{compiled[0]:10.2f}{compiled[0] / eager[0]:7.2f}")
    print(f"{'  the same per CPU second of the process':52}{eager[1]:9.2f}{compiled[1]:10.2f}")
    if device == "cuda":
        cpu = ours_rsac_updates_per_s(max(2, updates // 10), "cpu", **seed_setting)
        threads = torch.get_num_threads()
        print(f"RSAC updates/s, seed setting, eager on the CPU ({threads} threads): {cpu:.2f}")


def profile_part(device: str, env_id: str, updates: int, rows: int) -> None:
    """Where an update's time goes: profiler tables of SAC eager and compiled on ``device``."""
    for compile in (False, True):
        print(f"\nSAC update on {device}, {env_id}, batch 256, compile={compile}: top {rows} ops")
        rate = ours_sac_updates_per_s(updates, device, env_id, profile=rows, compile=compile)
        print(f"{rate:.2f} updates/s under the profiler")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["sac", "rsac", "image", "compile", "profile", "all"]
    parser.add_argument("--part", choices=parts, default="all")
    parser.add_argument("--steps", type=int, default=3000, help="timed env steps (sac)")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=20, help="timed updates (rsac, image)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs (sac)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="(compile, profile)")
    parser.add_argument("--env", default="Pendulum-v1", help="env (compile, profile)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {machine()}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (before)")
    if args.part in ("sac", "all"):
        sac_part(args.warmup, args.steps, args.repeats)
    if args.part in ("rsac", "all"):
        seed_setting = {"summarizer": "lstm", "summarizer_layers": 2, "summarizer_hidden": 256}
        probe = RSAC(env_id="pendulum-p-v0", **seed_setting)
        plain = plain_rsac_updates_per_s(args.updates, episode_batch(probe))
        rows = [
            ("seed: full episodes, separate", {}),
            ("window 50", {"window": 50}),
            ("critics share a summarizer", {"share_summarizer": "critics"}),
            ("window 50 + share critics", {"window": 50, "share_summarizer": "critics"}),
        ]
        print("\nRSAC updates/s, 10 episodes x 200 steps, 2x256 LSTM summarizers")
        print(f"{'':44}{'updates/s':>10}{'vs plain':>10}")
        print(f"{'plain PyTorch (seed setting)':44}{plain:10.2f}{1.0:10.2f}")
        for name, options in rows:
            value = ours_rsac_updates_per_s(args.updates, **seed_setting, **options)
            print(f"{'offpcc-pl ' + name:44}{value:10.2f}{value / plain:10.2f}")
    if args.part in ("image", "all"):
        print("\nSAC from pixels, configs/sac_cartpole_img.yaml (batch 100, 3x84x84 uint8)")
        for name, options in (("DrQ shift 4 (config)", {}), ("no shift", {"image_shift": 0})):
            value = image_updates_per_s(args.updates, **options)
            print(f"{'updates/s, ' + name:44}{value:10.2f}")
        acting = image_acting_steps_per_s(args.steps // 10)
        print(f"{'env steps/s acting (render + act, no update)':44}{acting:10.2f}")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.part == "compile":
        compile_part(device, args.env, args.warmup, args.steps, args.updates)
    if args.part == "profile":
        profile_part(device, args.env, args.updates, rows=18)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (after)")


if __name__ == "__main__":
    main()
