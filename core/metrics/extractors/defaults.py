"""Which feature extractor scores which data by default, without importing any extractor (or torch).

The zoo trains and ships a classifier per data set it knows (``EVALUATORS``: data set ->
architecture and evaluator name); FID on anything else uses the Inception-v3 of the FID paper.
Suites and ``genzoo eval`` resolve a default here, so listing suites stays fast.
"""

from __future__ import annotations

EVALUATORS = {"mnist": ("lenet", "lenet-mnist"), "fashion-mnist": ("lenet", "lenet-fashion-mnist"),
              "cifar10": ("resnet", "resnet-cifar10")}
"""data set -> (architecture, evaluator name)"""
FID_INCEPTION = "fid-inception-v3"


def default_extractor(data: str) -> str:
    """The zoo evaluator for MNIST-family data and CIFAR-10; the FID Inception otherwise."""
    return EVALUATORS[data][1] if data in EVALUATORS else FID_INCEPTION
