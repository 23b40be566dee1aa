"""The six LightningModules: construction checks, the divergence guard, compiled updates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from offpcc_pl.algorithms import ALGORITHMS, SAC
from offpcc_pl.algorithms.base import OffPolicyModule
from offpcc_pl.algorithms.graphs import untouched
from offpcc_pl.algorithms.update import adam, update_step
from offpcc_pl.buffers import Batch
from offpcc_pl.errors import ConfigError, TrainingDiverged
from tests.test_recurrent import SMALL, detached_update, filled_buffer, grads


def test_nan_loss_stops_training_with_a_clear_error() -> None:
    module = SAC(env_id="Pendulum-v1", hidden_sizes=(8, 8))
    batch = Batch(
        obs=torch.zeros(4, 2, 3), act=torch.zeros(4, 1, 1),
        rew=torch.full((4, 1, 1), float("nan")), done=torch.zeros(4, 1, 1),
    )  # fmt: skip
    detached_update(module, batch)  # no host sync per update: the check comes later
    with pytest.raises(
        TrainingDiverged, match="critic and actor losses became NaN/inf between updates 0 and 1"
    ):
        module.check_divergence()


def test_burn_in_without_window_is_rejected() -> None:
    with pytest.raises(ConfigError, match="burn_in=5 needs a window"):
        ALGORITHMS["RSAC"](env_id="pendulum-p-v0", burn_in=5, summarizer_hidden=8)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_seed_defaults(name: str) -> None:
    kwargs = {"summarizer_hidden": 8} if name.startswith("R") else {}
    module = ALGORITHMS[name](env_id="Pendulum-v1", **kwargs)
    hp = module.hparams
    assert (hp.gamma, hp.tau, hp.lr, tuple(hp.hidden_sizes)) == (0.99, 0.005, 3e-4, (256, 256))
    recurrent = name.startswith("R")
    assert hp.batch_size == (10 if recurrent else 100)
    assert module.critics.n == (1 if name in ("DDPG", "RDPG") else 2)
    if name.endswith("TD3"):
        assert (hp.action_noise, hp.target_noise, hp.noise_clip, module.policy_delay) == (
            0.1, 0.2, 0.5, 2,
        )  # fmt: skip
    if recurrent:
        assert module.memory.kind == "lstm" and module.memory.layers == 2


def transition_batch(module: OffPolicyModule) -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        obs=torch.randn(16, 2, module.obs_dim, generator=g),
        act=torch.rand(16, 1, module.act_dim, generator=g) * 2 - 1,
        rew=torch.randn(16, 1, 1, generator=g),
        done=(torch.rand(16, 1, 1, generator=g) < 0.2).float(),
    )


def eager_and_compiled(name: str) -> tuple[OffPolicyModule, OffPolicyModule, Batch]:
    """Two small agents with the same weights, the second with ``compile=True``, and a
    batch for them: episodes for the recurrent ones, transitions for the others."""
    recurrent = name.startswith("R")
    kwargs = {"hidden_sizes": (16, 16)} | (SMALL if recurrent else {})
    env_id = "pendulum-p-v0" if recurrent else "Pendulum-v1"
    torch.manual_seed(0)
    eager = ALGORITHMS[name](env_id=env_id, **kwargs)
    compiled = ALGORITHMS[name](env_id=env_id, compile=True, **kwargs)
    compiled.load_state_dict(eager.state_dict())
    if recurrent:
        return eager, compiled, filled_buffer(eager).sample(4, np.random.default_rng(0))
    return eager, compiled, transition_batch(eager)


# Inductor (the real backend) compiles for 10-50 s per algorithm on a 2-core CPU: SAC in the
# default run, TD3 and RSAC when slow tests run. aot_eager traces the same graphs (dynamo
# and AOTAutograd's forward/backward split) in ~3 s and checks all three by default.
COMPILE_CASES = [
    ("SAC", "inductor"),
    ("SAC", "aot_eager"),
    ("TD3", "aot_eager"),
    ("RSAC", "aot_eager"),
    pytest.param("TD3", "inductor", marks=pytest.mark.slow),
    pytest.param("RSAC", "inductor", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "backend"), COMPILE_CASES)
def test_compiled_update_gives_the_eager_losses_and_gradients(
    name: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compile_with = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: compile_with(fn, backend=backend, **kw))
    torch._dynamo.reset()  # no graph or recompile count left by an earlier test
    eager, compiled, batch = eager_and_compiled(name)
    torch.manual_seed(1)
    losses = detached_update(eager, batch)
    torch.manual_seed(1)
    # The config's own patch(), not monkeypatch: pytest 9 undoes a patch on torch's config
    # modules with delattr, which hides the setting from every later test of the process.
    with torch._inductor.config.patch(fallback_random=True):  # eager's RNG stream
        compiled_losses = detached_update(compiled, batch)
    assert compiled_losses == pytest.approx(losses, rel=1e-5, abs=1e-6)
    eager_grads, compiled_grads = grads(eager), grads(compiled)
    assert eager_grads.keys() == compiled_grads.keys() and eager_grads
    for key, grad in eager_grads.items():
        assert torch.allclose(grad, compiled_grads[key], rtol=1e-4, atol=1e-6), key
    assert compiled._compiled is not None and eager._compiled is None


@pytest.mark.parametrize("name", ["SAC", "TD3"])
def test_graph_warm_ups_leave_no_trace(name: str) -> None:
    """Capturing an update as a CUDA graph needs warm-up updates first; ``untouched``
    undoes them: weights, optimizer state (created by them: zeroed) and RNG (on CPU here)."""
    torch.manual_seed(0)
    warmed = ALGORITHMS[name](env_id="Pendulum-v1", hidden_sizes=(16, 16))
    straight = ALGORITHMS[name](env_id="Pendulum-v1", hidden_sizes=(16, 16))
    straight.load_state_dict(warmed.state_dict())
    batch = transition_batch(warmed)
    optimizers = warmed.configure_optimizers()
    rng = torch.get_rng_state()
    with untouched(warmed, optimizers):
        for actor_step in (True, False, True):
            update_step(warmed, batch, actor_step, optimizers, torch.Tensor.backward)
    assert any(optimizer.state for optimizer in optimizers)
    assert torch.equal(torch.get_rng_state(), rng)
    losses = []
    for module, opts in ((warmed, optimizers), (straight, straight.configure_optimizers())):
        module.optimizers = lambda opts=opts: opts
        module.manual_backward = torch.Tensor.backward
        torch.manual_seed(1)
        for _ in range(3):
            module.update(batch)
        losses.append({k: float(v) for k, v in module._sums.items()})
    assert losses[0] == losses[1]
    for key, param in straight.state_dict().items():
        assert torch.equal(warmed.state_dict()[key], param), key


def test_a_loaded_optimizer_steps_with_its_own_capturable_flag() -> None:
    """An Adam state saved while the update ran as a CUDA graph (which makes the param
    groups capturable) loads into an optimizer that steps as a fresh one does."""
    param = torch.nn.Parameter(torch.ones(3))
    graphed = adam([param], lr=1e-3)
    param.grad = torch.ones(3)
    graphed.step()
    for group in graphed.param_groups:
        group["capturable"] = True  # as UpdateGraphs sets it before capturing
    resumed = adam([param], lr=1e-3)
    resumed.load_state_dict(graphed.state_dict())
    assert [group["capturable"] for group in resumed.param_groups] == [False]
    assert [group["fused"] for group in resumed.param_groups] == [True]
    assert torch.equal(resumed.state[param]["exp_avg"], graphed.state[param]["exp_avg"])
