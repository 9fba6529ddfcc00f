"""ImageSet: the one in-memory shape every data source is turned into.

Every loader (IDX, CIFAR binary, digits, image folders) returns the same thing: a uint8
(N, C, H, W) tensor plus optional int64 labels. Keeping pixels as uint8 until the batch is
on the device is what makes a whole data set cheap to hold, cache and move; normalisation
and augmentation happen later, per batch (genzoo.core.data.transforms).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from genzoo.core.errors import DataError

if TYPE_CHECKING:
    from .clean import CleanReport


def images_digest(images: torch.Tensor) -> str:
    """sha256 of uint8 images (shape included): what caches and model cards trust instead of names."""
    h = hashlib.sha256(f"{tuple(images.shape)} {images.dtype}".encode())
    h.update(images.contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _check_images(images: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images)
        raise DataError(f"ImageSet.{what} must be a uint8 tensor shaped (N, C, H, W); got {got}.")
    if images.shape[1] not in (1, 3):
        raise DataError(f"ImageSet.{what} must have 1 or 3 channels; got {images.shape[1]}.")
    return images.contiguous()


@dataclass
class ImageSet:
    """Images (uint8 NCHW) with optional labels; ``images_b`` is the B domain of unpaired sources.

    ``classes`` names the label values (``classes[label]``); ``report`` is the clean-up report
    when the set came from an image folder. ``origin`` says which files the pixels came from where
    that changes what scores mean (e.g. CIFAR-10's JPEG re-encoding against its official pixels).
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    classes: tuple[str, ...] = ()
    name: str = ""
    images_b: torch.Tensor | None = None
    report: CleanReport | None = None
    origin: str = ""

    def __post_init__(self) -> None:
        self.images = _check_images(self.images, "images")
        if self.images_b is not None:
            self.images_b = _check_images(self.images_b, "images_b")
            if self.images_b.shape[1:] != self.images.shape[1:]:
                raise DataError(
                    f"ImageSet {self.name!r}: images_b {tuple(self.images_b.shape[1:])} must match images "
                    f"{tuple(self.images.shape[1:])}; format both domains to the same size and channels."
                )
        if self.labels is not None:
            if self.labels.dim() != 1 or self.labels.shape[0] != self.images.shape[0]:
                raise DataError(
                    f"ImageSet {self.name!r}: labels shaped {tuple(self.labels.shape)} do not match "
                    f"{self.images.shape[0]} images."
                )
            self.labels = self.labels.to(torch.int64).contiguous()
        self.classes = tuple(self.classes)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        """Side length in pixels (images are square once formatted; the height otherwise)."""
        return self.images.shape[2]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def content_hash(self) -> str:
        """sha256 of the pixels (both domains where there are two): which data, whatever it is called."""
        digest = images_digest(self.images)
        return digest if self.images_b is None else hashlib.sha256(
            f"{digest} {images_digest(self.images_b)}".encode()).hexdigest()

    def subset(self, n: int) -> ImageSet:
        """The first ``n`` images (and first ``n`` of the B domain): a quick, deterministic sample."""
        if n < 1:
            raise DataError(f"ImageSet.subset: n must be at least 1; got {n}.")
        return ImageSet(
            images=self.images[:n].clone(),
            labels=None if self.labels is None else self.labels[:n].clone(),
            classes=self.classes,
            name=self.name,
            images_b=None if self.images_b is None else self.images_b[:n].clone(),
            report=self.report,
            origin=self.origin,
        )

    def __repr__(self) -> str:
        b = "" if self.images_b is None else f", images_b={len(self.images_b)}"
        lab = "unlabeled" if self.labels is None else f"{len(self.classes) or 'unnamed'} classes"
        return f"ImageSet({self.name!r}, {len(self)} x {tuple(self.images.shape[1:])}, {lab}{b})"
