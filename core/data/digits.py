"""scikit-learn's bundled 8x8 digits: the one data set that works everywhere, offline.

It ships inside the scikit-learn wheel, so demos and tests can always train something.
Pixel values 0..16 are scaled to 0..255 so it looks like every other uint8 source. The
train/test split is fixed (the last 297 images are the test split) so results compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genzoo.core.errors import DataError, did_you_mean

from .imageset import ImageSet

TEST_SIZE = 297
SPLITS = ("train", "test")


def load_digits(root: Path | str | None = None, split: str = "train", download: bool = False) -> ImageSet:
    """1500 train / 297 test 8x8 grey digits, labels 0..9. ``root`` and ``download`` are ignored."""
    if split not in SPLITS:
        hint = did_you_mean(split, SPLITS)
        raise DataError(f"unknown split {split!r} for digits; expected train or test.{hint}")
    # Deferred: scikit-learn is slow to import and only this data set needs it.
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    pixels = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    cut = len(pixels) - TEST_SIZE
    part = slice(0, cut) if split == "train" else slice(cut, None)
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(pixels[part])).unsqueeze(1),
        labels=torch.from_numpy(labels[part].copy()),
        classes=tuple(str(d) for d in range(10)),
        name="digits",
    )
