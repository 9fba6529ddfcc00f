"""Evaluation: metric math on feature arrays, feature extractors, protocols and cached real statistics.

Each metric is a small module of plain torch functions on (N, D) feature tensors, so that
it can be checked number for number against the reference implementations (torch-fidelity,
pytorch-fid, Naeem et al.'s prdc) and timed on its own. Which images, which extractor, which
preprocessing and how many samples produced a number is a ``Protocol``; every ``Score``
carries one, and scores with different protocols are never compared silently.
"""
