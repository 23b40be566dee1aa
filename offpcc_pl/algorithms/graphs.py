"""``--model.compile``: the update's loss stages compiled, and on CUDA the whole gradient
update as one CUDA graph.

On a GPU a feed-forward update is a few hundred small kernels, and launching them from
Python costs more than running them (an H200 ran SAC's at 0.47 ms of GPU time per 5.7 ms
update). Capturing losses, backward passes, optimizer steps and target updates in one
``torch.cuda.CUDAGraph`` turns an update into one copy of the batch and one replay.

Capturing needs warm-up runs first (lazy optimizer state, cuBLAS workspaces, compiled
kernels). They run on the real batch and change weights, optimizer state and the CUDA RNG,
so :func:`untouched` puts all of that back: the run then makes the updates it would make
without a graph (tested on CPU, where the warm-ups run the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from offpcc_pl.buffers import Batch

Step = Callable[[Batch, bool], dict[str, Tensor]]  # (batch, actor_step) -> metrics


def whole_update_graphed(agent: nn.Module) -> bool:
    """``compile`` on CUDA captures the whole update as one CUDA graph, where its
    shapes are fixed (transitions, not episodes of varying length) and the precision is
    32-bit (a mixed-precision scaler syncs with the host)."""
    precision = agent._trainer.precision if agent._trainer is not None else "32-true"
    return (
        agent.hparams.compile
        and agent.device.type == "cuda"
        and agent.memory is None
        and precision in ("32-true", "32")
    )


def compiled_stages(
    agent: nn.Module, stages: tuple[Callable, Callable]
) -> tuple[Callable, Callable]:
    """The update's two loss stages compiled with ``torch.compile``, once per agent: as CUDA
    graphs of their own (``mode="reduce-overhead"``) on CUDA where the whole update is not
    captured (a recurrent agent's episodes vary in length)."""
    graph_stages = agent.device.type == "cuda" and not whole_update_graphed(agent)
    if agent._compiled is None:
        mode = "reduce-overhead" if graph_stages else None
        agent._compiled = tuple(torch.compile(stage, mode=mode) for stage in stages)
    if graph_stages:  # a new iteration: graph outputs of the last update may be overwritten
        torch.compiler.cudagraph_mark_step_begin()
    return agent._compiled


@contextmanager
def untouched(module: nn.Module, optimizers: list[torch.optim.Optimizer]) -> Iterator[None]:
    """Run the body, then restore in place every parameter, buffer and optimizer state
    tensor of before (state the body created is zeroed, as a fresh Adam's is) and the RNG
    of the tensors' device. Gradients are left as they are: each step sets its own."""
    tensors = [*module.parameters(), *module.buffers()]
    saved = [t.detach().clone() for t in tensors]
    had_state = {id(p) for opt in optimizers for p in opt.state}
    opt_saved = [
        (t, t.detach().clone())
        for opt in optimizers
        for state in opt.state.values()
        for t in state.values()
        if torch.is_tensor(t)
    ]
    cuda = any(t.is_cuda for t in tensors)
    rng = torch.cuda.get_rng_state() if cuda else torch.get_rng_state()
    yield
    with torch.no_grad():
        for t, copy in zip(tensors, saved):
            t.copy_(copy)
        for t, copy in opt_saved:
            t.copy_(copy)
        for opt in optimizers:
            for param, state in opt.state.items():
                if id(param) not in had_state:
                    for t in state.values():
                        if torch.is_tensor(t):
                            t.zero_()
    if cuda:
        torch.cuda.set_rng_state(rng)
    else:
        torch.set_rng_state(rng)


class UpdateGraphs:
    """``step`` captured once per (actor step or not, batch shapes) and replayed after.

    ``step(batch, actor_step)`` must run on raw optimizers and plain ``backward`` (no
    Lightning wrappers: their bookkeeping would run once, at capture) and sync nothing
    with the host. Optimizers are made ``capturable``.
    """

    def __init__(
        self, step: Step, module: nn.Module, optimizers: list[torch.optim.Optimizer]
    ) -> None:
        self.step, self.module, self.optimizers = step, module, optimizers
        for opt in optimizers:
            for group in opt.param_groups:
                group["capturable"] = True
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, Batch, dict[str, Tensor]]] = {}

    def __call__(self, batch: Batch, actor_step: bool) -> dict[str, Tensor]:
        key = (actor_step, *(None if t is None else tuple(t.shape) for t in batch.tensors()))
        if key not in self._graphs:
            self._graphs[key] = self._capture(batch, actor_step)
        graph, static, metrics = self._graphs[key]
        for dst, src in zip(static.tensors(), batch.tensors()):
            if dst is not None:
                dst.copy_(src, non_blocking=True)
        graph.replay()
        return metrics

    def _capture(
        self, batch: Batch, actor_step: bool, warmup: int = 3
    ) -> tuple[torch.cuda.CUDAGraph, Batch, dict[str, Tensor]]:
        static = batch.clone()
        with untouched(self.module, self.optimizers):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(warmup):
                    self.step(static, actor_step)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                metrics = self.step(static, actor_step)
        return graph, static, metrics
