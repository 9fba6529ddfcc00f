"""Training on several processes (torchrun) with the maths of one.

genzoo launches nothing of its own: ``torchrun`` (or ``genzoo train --nproc N``, which runs
torch.distributed.run) starts the processes and sets the usual environment (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT or a rendezvous endpoint), and :func:`init` joins that group.

The rule here is that a run's numbers do not depend on how many processes trained it:
- ``train.batch_size`` is the global batch. Every rank builds batch ``i`` of the loader (a pure
  function of seed and step, so the same on every rank) and keeps its contiguous share: the
  shares never overlap and together are exactly the one-process batch.
- Per-example noise comes from genzoo.core.batch_random, drawn for the global batch and shared
  out the same way.
- Each phase's trainable modules are wrapped in DistributedDataParallel, which averages the
  gradients of the shares: the mean of equal-sized shares' mean losses is the global mean loss.
- Batch norm layers are synchronised, so their statistics are the global batch's.
So N processes train what one would, to float rounding, and a checkpoint written by N
processes resumes on M. The price is that every rank draws the whole batch's noise and
augmentation (cheap next to the networks) and that batch norm costs a collective per layer.

What this asks of a family: each phase's loss reaches every trainable parameter of the phase's
modules, every step (DDP waits for each one's gradient). A regulariser that differentiates through a
gradient can leave some out (a last bias has no gradient through R1); adding ``0 * output`` keeps them
in the graph, as StyleGAN2's phases do (StyleGAN2-ADA does the same).

Only rank 0 writes files; every decision that ends a run (time budget, signal, early stop,
non-finite losses) is agreed on through :meth:`World.agree`, so every rank stops on the same step.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .batch_random import share
from .errors import ConfigError
from .phases import Batch, Losses, Phase

TIMEOUT_ENV = "GENZOO_DIST_TIMEOUT"
"""Seconds a collective may wait for the other ranks before the job fails (default 1800): long enough
for rank 0's evaluation of a checkpoint, short enough that a lost rank ends the job rather than hangs it."""


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher speaking its environment)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class World:
    """This process's place among the ranks of a run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    control: Any = None
    """A gloo group for the small host-side agreements, so that they never wait on a GPU stream."""

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def agree(self, code: int) -> int:
        """The largest of every rank's ``code``: one rank's reason to stop stops them all on this step."""
        if not self.distributed:
            return code
        t = torch.tensor([code], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.control)
        return int(t.item())

    def shard(self, batch: Batch) -> Batch:
        """This rank's contiguous share of a global batch."""
        if not self.distributed:
            return batch
        n = len(batch) // self.size

        def take(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.narrow(0, self.rank * n, n)

        return Batch(take(batch.images), take(batch.labels), take(batch.images_b))

    def check_batch(self, batch_size: int) -> None:
        if self.distributed and batch_size % self.size:
            lower, upper = batch_size // self.size * self.size, -(-batch_size // self.size) * self.size
            raise ConfigError(
                f"train.batch_size={batch_size} is the global batch and must divide evenly over {self.size} "
                f"processes; use {lower or upper} or {upper} (or another multiple of {self.size})."
            )


def world() -> World:
    """The current world: the joined process group, or one process."""
    rank, size = share()
    return World(rank, size, int(os.environ.get("LOCAL_RANK", "0")), _control) if size > 1 else World()


_control: Any = None


def init(device_name: str = "auto") -> World:
    """Join the process group torchrun describes in the environment (no-op for one process).

    NCCL for CUDA, gloo otherwise; each rank takes the GPU of its LOCAL_RANK, so that a plain
    "cuda" device then means this rank's own.
    """
    global _control
    if not launched() or dist.is_initialized():
        return world()
    timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "1800")))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_name != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout)
    _control = dist.new_group(backend="gloo", timeout=timeout) if cuda else dist.group.WORLD
    return world()


def close() -> None:
    """Leave the process group (at the end of a distributed run)."""
    global _control
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _control = None


def all_reduce_mean(values: torch.Tensor) -> torch.Tensor:
    """The mean over ranks of a tensor of per-rank means (identity for one process)."""
    _, size = share()
    if size > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= size
    return values


def all_reduce_max_(value: torch.Tensor) -> None:
    """In place: the largest of every rank's value (e.g. "this update was bad somewhere")."""
    if share()[1] > 1:
        dist.all_reduce(value, op=dist.ReduceOp.MAX)


class _SumOverRanks(torch.autograd.Function):
    """all_reduce(SUM) with its gradient: each rank's input feeds every rank's output, so the
    gradient of a rank's input is the sum of every rank's output gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are the global batch's, on any backend.

    torch's own SyncBatchNorm runs on GPUs only; this one is the CPU/gloo counterpart (two
    differentiable all-reduces: the mean, then the centred sum of squares, which is as exact as
    one process's two-pass statistics). In eval mode it is plain batch norm, and its state dict
    is batch norm's, so checkpoints and pretrained folders do not change.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not dist.is_initialized():
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        sums = _SumOverRanks.apply(torch.cat([x.sum(dims), count]))
        total = sums[-1]
        mean = sums[:-1] / total
        centred = x - mean.view(shape)
        var = _SumOverRanks.apply(centred.pow(2).sum(dims)) / total
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * total / (total - 1).clamp(min=1), m)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every batch norm layer under ``module`` by a synchronised one sharing its parameters."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, SyncBatchNorm):
            synced = SyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                   child.track_running_stats)
            if child.affine:
                synced.weight, synced.bias = child.weight, child.bias
            if child.track_running_stats:
                synced.running_mean, synced.running_var = child.running_mean, child.running_var
                synced.num_batches_tracked = child.num_batches_tracked
            synced.train(child.training)
            setattr(module, name, synced)
        else:
            sync_batchnorm(child, device)
    return module


class _PhaseForward(nn.Module):
    """A phase as one module whose forward is its loss, so that DDP sees every parameter the
    phase updates however the family's loss reaches them (methods, not just ``forward``)."""

    def __init__(self, phase: Phase) -> None:
        super().__init__()
        self.parts = nn.ModuleList(phase.modules)
        self.loss = phase.loss

    def forward(self, batch: Batch) -> Losses:
        return self.loss(batch)


def wrap_phase(phase: Phase, device: torch.device) -> nn.Module:
    """The phase's trainable modules in DistributedDataParallel (called like ``phase.loss``)."""
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    # Buffers (batch-norm statistics) are kept equal by synchronised batch norm, not re-broadcast per forward.
    # A phase's graph is the same every step, and static_graph is what lets DDP follow a loss that
    # differentiates through a gradient (R1, path length and gradient penalties: double backward).
    return DistributedDataParallel(_PhaseForward(phase), device_ids=ids, forward_sync_buffers=False,
                                   process_group=dist.group.WORLD, static_graph=True)
