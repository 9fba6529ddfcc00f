"""Exponential moving averages of the weights a model samples with.

GAN generators sample visibly better from an average of recent weights than from the last
iterate; the model names which submodules to average (``ema_modules``) and the trainer
keeps one shadow copy per name here. Buffers (batch-norm statistics) are copied, not
averaged, as in most StyleGAN/BigGAN code.

A fixed decay of 0.999 averages over ~1,000 steps, so early in a run the average is
dominated by old weights and samples from it look worse than the live generator's. The
decay therefore ramps up with the run, as in StyleGAN2-ADA: the average's half-life is
``RAMPUP`` (2%) of the steps taken so far, capped by ``decay`` (0.999 is reached after
~35,000 steps). An average's cost is its lag behind a generator that is still improving; its
gain, smoothing out the oscillation of the two-player game, shows late. A half-life that grows
with the run keeps the lag short while the generator improves fast and lengthens once it
slows, which is why it replaced TensorFlow's num_updates warm-up min(decay, (1 + t) / (10 + t)).
Measurements: bench/RESULTS.md, "EMA schedules for the GAN recipes" (bench/ema_schedules.py).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

RAMPUP = 0.02
"""The average's half-life as a fraction of the steps taken so far (StyleGAN2-ADA's ema_rampup)."""


class EMA:
    def __init__(self, model: nn.Module, names: tuple[str, ...], decay: float, start: int = 0) -> None:
        self.decay, self.start = decay, start
        self.names = names
        self.shadows = nn.ModuleDict({n: copy.deepcopy(getattr(model, n)).requires_grad_(False) for n in names})
        self._live = [getattr(model, n) for n in names]
        self._pairs()

    def _pairs(self) -> None:
        live = [list(m.parameters()) for m in self._live]
        shadow = [list(m.parameters()) for m in self.shadows.values()]
        self._params = (list(itertools.chain(*shadow)), list(itertools.chain(*live)))
        self._buffers = [
            (s, b) for sm, lm in zip(self.shadows.values(), self._live)
            for s, b in zip(sm.buffers(), lm.buffers())
        ]

    def decay_at(self, t: int) -> float:
        """The decay applied ``t`` steps after ``start``: a half-life of RAMPUP * (t + 1) steps, capped."""
        return min(self.decay, 0.5 ** (1 / (RAMPUP * (t + 1))))

    @torch.no_grad()
    def update(self, step: int) -> None:
        shadow, live = self._params
        if step < self.start:
            torch._foreach_copy_(shadow, live)
        else:
            torch._foreach_lerp_(shadow, live, 1.0 - self.decay_at(step - self.start))
        for s, b in self._buffers:
            s.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadows.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadows.load_state_dict(state)

    @contextmanager
    def swapped_in(self, model: nn.Module) -> Iterator[None]:
        """Temporarily replace the live modules by their averages (for sampling)."""
        for n in self.names:
            setattr(model, n, self.shadows[n])
        try:
            yield
        finally:
            for n, live in zip(self.names, self._live):
                setattr(model, n, live)

    def to(self, device: torch.device) -> EMA:
        self.shadows.to(device)
        self._pairs()
        return self
