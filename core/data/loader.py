"""BatchLoader: batch ``i`` of an endless, shuffled, augmented stream, as a pure function of (seed, i).

The trainer asks for batches by step number. Because the shuffle order of each epoch and
every random augmentation are drawn from generators seeded by (seed, epoch) and (seed,
step), a run resumed at step 5000 sees exactly the batches an uninterrupted run would,
with no loader state to checkpoint. The uint8 set lives on the accelerator when it fits,
so a step costs one gather plus the batched transforms, and no worker processes.
"""

from __future__ import annotations

import hashlib

import torch

from genzoo.core.errors import DataError
from genzoo.core.phases import Batch
from genzoo.core.preprocessing import Preprocessing

from .imageset import ImageSet
from .transforms import augment, normalize

DEVICE_RESIDENT_BYTES = 1 << 30
"""Sets smaller than this are copied to a CUDA/MPS device once and gathered there."""

_PERM, _AUGMENT, _PERM_B = 0, 1, 2


def derive_seed(seed: int, stream: int, index: int) -> int:
    """A 63-bit seed for (seed, stream, index): independent streams, same numbers everywhere."""
    digest = hashlib.sha256(f"genzoo:{seed}:{stream}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


class _Shuffled:
    """One image tensor with its per-epoch permutations (the current epoch's is cached)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int, drop_last: bool,
                 seed: int, stream: int, device: torch.device):
        self.n = images.shape[0]
        self.batch_size = batch_size
        if drop_last:
            self.batches_per_epoch = max(1, self.n // batch_size)
        else:
            self.batches_per_epoch = -(-self.n // batch_size)
        self.seed, self.stream, self.device = seed, stream, device
        resident = device.type in ("cuda", "mps") and images.numel() < DEVICE_RESIDENT_BYTES
        self.store_device = device if resident else torch.device("cpu")
        self.images = images.to(self.store_device)
        self.labels = None if labels is None else labels.to(self.store_device)
        self.pin = device.type == "cuda" and not resident
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.int64)

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = _generator(derive_seed(self.seed, self.stream, epoch))
            self._perm = torch.randperm(self.n, generator=g).to(self.store_device)
            self._epoch = epoch
        return self._perm

    def take(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        epoch, j = divmod(index, self.batches_per_epoch)
        idx = self.permutation(epoch)[j * self.batch_size:(j + 1) * self.batch_size]
        images = self.images.index_select(0, idx)
        labels = None if self.labels is None else self.labels.index_select(0, idx)
        if self.store_device != self.device:
            if self.pin:
                images = images.pin_memory()
                labels = None if labels is None else labels.pin_memory()
            images = images.to(self.device, non_blocking=True)
            labels = None if labels is None else labels.to(self.device, non_blocking=True)
        return images, labels


class BatchLoader:
    """Deterministic batches of an ImageSet: ``batch(i)`` depends only on (seed, i).

    Epoch ``e`` visits every image once in the order ``randperm(N)`` seeded from (seed, e);
    with ``drop_last`` the last partial batch is skipped (a set smaller than one batch gives
    one batch of all its images). The B domain of an unpaired set is shuffled on its own.
    """

    def __init__(self, imageset: ImageSet, preprocessing: Preprocessing, batch_size: int, seed: int = 0,
                 device: torch.device | str = "cpu", drop_last: bool = True):
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1; got {batch_size}.")
        if len(imageset) == 0:
            raise DataError(f"data set {imageset.name!r} is empty; nothing to train on.")
        self.imageset = imageset
        self.preprocessing = preprocessing
        self.batch_size = batch_size
        self.seed = int(seed)
        self.device = torch.device(device)
        shape = (batch_size, drop_last, self.seed)
        self._a = _Shuffled(imageset.images, imageset.labels, *shape, _PERM, self.device)
        self._b = None
        if imageset.images_b is not None:
            self._b = _Shuffled(imageset.images_b, None, *shape, _PERM_B, self.device)

    @property
    def batches_per_epoch(self) -> int:
        return self._a.batches_per_epoch

    def epoch_of(self, index: int) -> int:
        return index // self.batches_per_epoch

    def _prepare(self, images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        x = normalize(images, self.preprocessing.normalize, generator=g)
        return augment(x, self.preprocessing, g)

    def batch(self, index: int) -> Batch:
        """The ``index``-th batch of the endless stream, normalised and augmented on the device."""
        if index < 0:
            raise DataError(f"batch index must be >= 0; got {index}.")
        images, labels = self._a.take(index)
        g = _generator(derive_seed(self.seed, _AUGMENT, index))
        x = self._prepare(images, g)
        x_b = None
        if self._b is not None:
            images_b, _ = self._b.take(index)
            x_b = self._prepare(images_b, g)
        return Batch(images=x, labels=labels, images_b=x_b)

    def __iter__(self):
        """Batches 0, 1, 2, ... forever."""
        index = 0
        while True:
            yield self.batch(index)
            index += 1
