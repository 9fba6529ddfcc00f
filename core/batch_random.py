"""Per-example randomness of a training step, drawn for the whole global batch.

Why not ``torch.randn``: with several processes (torchrun) each rank holds a share of the
global batch. If each drew its own noise, a run's numbers would depend on how many processes
trained it, and a checkpoint written by 4 processes could not continue the same run on 1.
Instead, while the trainer runs a step it installs one generator seeded by (seed, step), the
same on every rank; a family draws its per-example noise here (latents, reparameterisation
noise, gradient-penalty mixes, random labels), every rank draws the rows of the *global*
batch and keeps its own contiguous share. One process is the special case of one share, so a
run is the same run on any number of processes, to float rounding.

Given an explicit ``generator`` (seeded sampling) they draw from it, and outside a training
step (a user calling a loss by hand) from torch's global generator, exactly like ``torch.randn``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

from .data.loader import derive_seed

_STEP_NOISE = 3
"""The stream of ``derive_seed`` for step noise (the loader uses 0-2)."""

_current: torch.Generator | None = None


def share() -> tuple[int, int]:
    """(rank, number of processes) of this process's share of a global batch."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@contextmanager
def step_randomness(seed: int, step: int, device: torch.device) -> Iterator[None]:
    """Draws below come from a generator seeded by (seed, step) while the block runs."""
    global _current
    previous = _current
    _current = torch.Generator(device=device).manual_seed(derive_seed(seed, _STEP_NOISE, step))
    try:
        yield
    finally:
        _current = previous


def _draw(draw, n: int, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    if generator is not None:
        return draw(n, generator, generator.device).to(device)
    if _current is None:
        return draw(n, None, device)
    rank, size = share()
    full = draw(n * size, _current, _current.device)
    return full[rank * n:(rank + 1) * n].to(device)


def randn(n: int, *shape: int, device: torch.device | str, dtype: torch.dtype | None = None,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` rows of standard normal noise of ``shape`` for this process's share of the batch."""
    return _draw(lambda m, g, d: torch.randn(m, *shape, generator=g, device=d, dtype=dtype), n, torch.device(device),
                 generator)


def rand(n: int, *shape: int, device: torch.device | str, dtype: torch.dtype | None = None,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` rows of uniform [0, 1) noise of ``shape`` for this process's share of the batch."""
    return _draw(lambda m, g, d: torch.rand(m, *shape, generator=g, device=d, dtype=dtype), n, torch.device(device),
                 generator)


def randint(high: int, n: int, *, device: torch.device | str, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` integers in [0, high) for this process's share of the batch (e.g. random class labels)."""
    return _draw(lambda m, g, d: torch.randint(high, (m,), generator=g, device=d), n, torch.device(device), generator)
