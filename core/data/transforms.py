"""Tensor transforms on whole batches: formatting, normalisation, augmentation.

Pixels stay uint8 until a batch is on its device; then one batched call per step turns
them into model inputs. Nothing here works per PIL image, which is why an epoch over a
cached set costs milliseconds rather than a JPEG decode per image. All randomness comes
from an explicit torch.Generator (on the CPU; random parameters are small and are moved to
the batch's device), so a batch is reproducible on any device from (seed, step).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from genzoo.core.errors import DataError
from genzoo.core.preprocessing import Preprocessing

from .imageset import ImageSet

Resize = Literal["resize", "center_crop", "pad"]
NORMALIZE_MODES = ("minus_one_one", "zero_one", "dequantize", "uint8")
RESIZE_MODES = ("resize", "center_crop", "pad")
# The largest dequantisation noise: keeps x + u below x + 1 in float32, so floor(256 y) == x.
_MAX_NOISE = 1.0 - 2.0**-12
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")


def _interpolate(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    if x.shape[-2:] == (h, w):
        return x
    y = F.interpolate(x.float(), size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return y.round_().clamp_(0, 255).to(torch.uint8)


def fit_size(x: torch.Tensor, size: int, resize: Resize = "resize") -> torch.Tensor:
    """uint8 (N, C, h, w) -> (N, C, size, size).

    resize: bilinear (antialiased) to size x size, aspect not kept. center_crop: scale so the
    shorter side is ``size`` (aspect kept), crop the centre. pad: an image that fits is not
    scaled (MNIST 28 -> 32 gains a 2-pixel black border); a larger one is scaled so its longer
    side is ``size``; the rest is filled with zeros.
    """
    if resize not in RESIZE_MODES:
        raise DataError(f"unknown resize mode {resize!r}; expected one of {', '.join(RESIZE_MODES)}.")
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if resize == "resize":
        return _interpolate(x, size, size)
    if resize == "center_crop":
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        y = _interpolate(x, nh, nw)
        top, left = (nh - size) // 2, (nw - size) // 2
        return y[..., top:top + size, left:left + size].contiguous()
    if h > size or w > size:
        scale = size / max(h, w)
        h, w = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
        x = _interpolate(x, h, w)
    top, left = (size - h) // 2, (size - w) // 2
    return F.pad(x, (left, size - w - left, top, size - h - top), value=0)


def fit_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> ``channels`` (1 or 3): grey repeated to RGB, RGB to ITU-R 601 luma."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        weights = torch.tensor(_LUMA, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        return (x.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise DataError(f"cannot convert {c}-channel images to {channels} channels; expected 1 or 3.")


def format_tensor(x: torch.Tensor, image_size: int, channels: int, resize: Resize = "resize",
                  chunk: int = 1024) -> torch.Tensor:
    """Size and channels of a uint8 image tensor, in chunks to bound memory."""
    if x.shape[0] == 0 or (x.shape[1] == channels and tuple(x.shape[-2:]) == (image_size, image_size)):
        return x
    parts = [fit_size(fit_channels(x[i:i + chunk], channels), image_size, resize)
             for i in range(0, x.shape[0], chunk)]
    return torch.cat(parts).contiguous()


def format_images(imageset: ImageSet, image_size: int, channels: int, resize: Resize = "resize") -> ImageSet:
    """The set at a model's size and channel count (e.g. MNIST 28 -> 32, grey -> RGB), in batches."""
    return ImageSet(
        images=format_tensor(imageset.images, image_size, channels, resize),
        labels=imageset.labels,
        classes=imageset.classes,
        name=imageset.name,
        images_b=None if imageset.images_b is None else format_tensor(
            imageset.images_b, image_size, channels, resize),
        report=imageset.report,
        origin=imageset.origin,
    )


def _check_mode(mode: str) -> None:
    if mode not in NORMALIZE_MODES:
        raise DataError(f"unknown normalize mode {mode!r}; expected one of {', '.join(NORMALIZE_MODES)}.")


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) drawn on the generator's device, then moved (same numbers on any device)."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_device).to(device)


def normalize(x: torch.Tensor, mode: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 batch -> float32 model input.

    minus_one_one: [-1, 1]; zero_one: [0, 1]; dequantize: (x + u) / 256 with u ~ U[0, 1)
    (flows: a density on continuous values); uint8: the integer levels 0..255 as floats.
    """
    _check_mode(mode)
    if x.dtype != torch.uint8:
        raise DataError(f"normalize expects a uint8 batch; got {x.dtype}.")
    y = x.float()
    if mode == "minus_one_one":
        return y.div_(127.5).sub_(1.0)
    if mode == "zero_one":
        return y.div_(255.0)
    if mode == "dequantize":
        noise = _rand(tuple(x.shape), generator, x.device).mul_(_MAX_NOISE)
        return y.add_(noise).div_(256.0)
    return y


def denormalize(x: torch.Tensor, mode: str) -> torch.Tensor:
    """Model-space float images -> uint8 (for saving grids); exact inverse of ``normalize`` on its range."""
    _check_mode(mode)
    x = x.detach().float()
    if mode == "minus_one_one":
        y = (x + 1.0).mul_(127.5).round_()
    elif mode == "zero_one":
        y = (x * 255.0).round_()
    elif mode == "dequantize":
        y = (x * 256.0).floor_()
    else:
        y = x.round()
    return y.clamp_(0, 255).to(torch.uint8)


def augment(x: torch.Tensor, pre: Preprocessing, generator: torch.Generator) -> torch.Tensor:
    """Random flips, rotations and resized crops of a float batch, as ``pre`` asks.

    Flips are exact (a mirrored copy); rotation and crop are one batched affine warp
    (affine_grid + bilinear grid_sample, border padding). The generator alone decides
    the draws, so the same generator state gives the same batch.
    """
    if not pre.augments:
        return x
    n, device = x.shape[0], x.device
    if pre.hflip:
        flip = _rand((n,), generator, device) < 0.5
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    if pre.rotation <= 0 and pre.crop_scale >= 1.0:
        return x
    angle = (_rand((n,), generator, device) * 2 - 1) * math.radians(pre.rotation)
    scale = pre.crop_scale + (1.0 - pre.crop_scale) * _rand((n,), generator, device)
    shift = (_rand((n, 2), generator, device) * 2 - 1) * (1.0 - scale).unsqueeze(1)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    rows = (torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1))
    theta = torch.stack(rows, 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
