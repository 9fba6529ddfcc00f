"""Which metric a source can be scored on, decided before anything is sampled (no torch import).

``genzoo eval`` and ``genzoo bench`` both ask here, so a metric a model cannot support is the
same "n/a (reason)" in an eval table and in a bench report, found before a minute of sampling
rather than after it, and never an error that throws away the metrics that do apply.
"""

from __future__ import annotations

from collections.abc import Iterable

NEEDS = {"fid": "sample", "kid": "sample", "pr": "sample", "dc": "sample", "is": "sample",
         "psnr": "reconstruct", "ssim": "reconstruct", "bpd": "log_prob"}
"""which capability each built-in metric needs (a metric not listed needs none)"""
SCORES = {"pr": ("precision", "recall", "f1"), "dc": ("density", "coverage")}
WHY = {"sample": "cannot sample", "reconstruct": "cannot reconstruct", "log_prob": "has no likelihood"}
"""why a model without the capability gets n/a"""
FEATURE_METRICS = frozenset({"fid", "kid", "pr", "dc", "is"})
IMAGES = "images"
"""the capability of an image folder or .npz: its images stand for samples, but there is no model"""


def score_names(metric: str) -> tuple[str, ...]:
    """The score columns a metric fills: its own name, or several (pr: precision, recall, f1)."""
    return SCORES.get(metric, (metric,))


def inapplicable(metrics: Iterable[str], capabilities: Iterable[str]) -> dict[str, str]:
    """metric -> reason for each of ``metrics`` that a source with ``capabilities`` cannot be scored on."""
    caps = set(capabilities)
    na = {}
    for m in metrics:
        need = NEEDS.get(m)
        if need is None or need in caps or (need == "sample" and IMAGES in caps):
            continue
        na[m] = "images, not a model: nothing to reconstruct or score" if IMAGES in caps else WHY[need]
    return na
