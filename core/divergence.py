"""Telling a run that explodes from one that trains: divergence as an outcome, not a success.

The NaN guard only sees non-finite values; a run whose losses climb to 1e20 stays finite and
would end "trained" with weights that are noise. This test reads the losses the trainer already
brings to the host every ``log_every`` steps (so it adds no device sync) and flags a loss term
that is either above an absolute ceiling or ``factor`` times its running median (of magnitudes,
with the median floored at 1, so a term that idles near 0 is not "a million times" larger at
1e-3). A run diverges when some term is flagged ``patience`` log intervals in a row, or in the
last interval of the run, which has no later ones to wait for. Flagged values do not enter the
median, which stays the healthy reference.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from .errors import GenzooError

WINDOW = 20  # log intervals in the running median
MIN_HISTORY = 3  # intervals seen before the growth test applies (the ceiling applies at once)
MEDIAN_FLOOR = 1.0


class Diverged(GenzooError):
    """A run stopped because its losses exploded; run.json records status "diverged"."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.step)


@dataclass
class DivergenceTest:
    factor: float  # 0 = no growth test
    ceiling: float  # 0 = no ceiling
    patience: int
    history: dict[str, deque[float]] = field(default_factory=dict)
    streak: int = 0

    def check(self, losses: dict[str, float], step: int, final: bool) -> str:
        """Feed one log interval's mean losses ("phase.term" -> value); a message when the run diverged, else ""."""
        worst: tuple[float, str, str] | None = None  # (how far over, term, why)
        for key, value in losses.items():
            if not math.isfinite(value):
                continue  # the NaN guard's business
            past = self.history.setdefault(key, deque(maxlen=WINDOW))
            size = abs(value)
            why, over = "", 0.0
            if self.ceiling and size > self.ceiling:
                why, over = f"above the ceiling train.diverge_ceiling={self.ceiling:g}", size / self.ceiling
            elif self.factor and len(past) >= MIN_HISTORY:
                median = max(statistics.median(past), MEDIAN_FLOOR)
                if size > self.factor * median:
                    why = (f"over train.diverge_factor={self.factor:g} times its running median "
                           f"{statistics.median(past):.4g}")
                    over = size / (self.factor * median)
            if why:
                if worst is None or over > worst[0]:
                    worst = (over, key, f"{key} = {value:.4g} is {why}")
            else:
                past.append(size)
        if worst is None:
            self.streak = 0
            return ""
        self.streak += 1
        if self.streak < self.patience and not final:
            return ""
        phase, term = worst[1].split(".", 1)
        intervals = f"{self.streak} log interval{'s' if self.streak > 1 else ''} in a row"
        return (f"training diverged at step {step} (phase {phase!r}, term {term!r}): {worst[2]} "
                f"({intervals})")
