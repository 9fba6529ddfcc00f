"""Turning image tensors into picture files (sample grids, translated images)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .atomic import atomic_path
from .errors import ConfigError


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Model outputs in [-1, 1] -> uint8 (N, C, H, W) on the CPU."""
    if images.dtype == torch.uint8:
        return images.cpu()
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') grid, rows of ``nrow`` images."""
    images = to_uint8(images)
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, y : y + h, x : x + w] = images[i]
    return grid


def image_format(path: str | os.PathLike) -> str:
    """The Pillow format a picture file's name asks for (no suffix: PNG). Commands call it before
    they sample, so that a mistyped suffix costs nothing rather than the images just drawn."""
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "PNG"
    if (fmt := Image.registered_extensions().get(suffix)) in Image.SAVE:
        return fmt
    raise ConfigError(f"cannot write {path}: {suffix!r} is not an image type Pillow writes; use .png or .jpg "
                      "(or, for `genzoo sample`, FILE.npz or DIR/).")


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Save one uint8 (C, H, W) image (or a [-1, 1] float one) as PNG/JPEG, atomically."""
    path = Path(path)
    fmt = image_format(path)
    array = to_uint8(image[None])[0].permute(1, 2, 0).numpy()
    pil = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else np.ascontiguousarray(array))
    with atomic_path(path) as tmp:
        pil.save(tmp, format=fmt)
    return path


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> Path:
    return save_image(make_grid(images, nrow), path)
