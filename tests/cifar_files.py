"""CIFAR-10 binary files (the format genzoo reads) written from the real CIFAR images of the shared sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from genzoo.core.data.cifar import CLASSES, FOLDER, SPLIT_FILES


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """One binary batch: per image a label byte, then its (3, 32, 32) uint8 bytes."""
    records = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(len(images), -1)], axis=1)
    path.write_bytes(records.tobytes())


def cifar10_root_from_sample(sample: Path, root: Path, train_per_class: int, test_per_class: int) -> Path:
    """A data root whose cifar10/cifar-10-batches-bin holds the sample's first images of each class
    (train split, spread over the five batch files) and the next ones (test split)."""
    def read(cls: str, first: int, count: int) -> np.ndarray:
        return np.stack([np.asarray(Image.open(sample / cls / f"{i:04d}.jpg").convert("RGB"))
                         for i in range(first, first + count)]).transpose(0, 3, 1, 2)

    folder = root / "cifar10" / FOLDER
    folder.mkdir(parents=True)
    for split, first, count in (("train", 0, train_per_class), ("test", train_per_class, test_per_class)):
        images = np.concatenate([read(cls, first, count) for cls in CLASSES])
        labels = np.repeat(np.arange(len(CLASSES), dtype=np.uint8), count)
        order = np.random.default_rng(0).permutation(len(images))  # batch files mix the classes, as the real ones
        files = SPLIT_FILES[split]
        for name, part in zip(files, np.array_split(order, len(files))):
            write_batch(folder / name, np.ascontiguousarray(images[part]), labels[part])
    return root
