"""Corruptions for denoising: what a denoising autoencoder trains against and what
``genzoo denoise`` adds to clean images before asking a model to undo it.

Both must draw the same kinds of noise on the same scale, so they live here once. Images
are in [0, 1]; ``amount`` is the Gaussian standard deviation for "gaussian" and the
fraction of corrupted pixels for "salt_pepper" and "mask" (Vincent et al. 2010's masking
noise). Results stay in [0, 1]; amount 0 returns the images unchanged.
"""

from __future__ import annotations

import torch

from . import batch_random
from .errors import GenzooError

NOISE_KINDS = ("gaussian", "salt_pepper", "mask")


def _draw(shape: torch.Size, generator: torch.Generator | None, device: torch.device, normal: bool) -> torch.Tensor:
    # per image, like any training noise: the same corruptions on any number of processes
    fn = batch_random.randn if normal else batch_random.rand
    return fn(shape[0], *shape[1:], device=device, generator=generator)


def corrupt(images: torch.Tensor, kind: str, amount: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``images`` in [0, 1] with ``kind`` noise of strength ``amount``, clipped to [0, 1]."""
    if kind not in NOISE_KINDS:
        raise GenzooError(f"unknown noise {kind!r}; choose one of {', '.join(NOISE_KINDS)}.")
    if amount < 0 or (kind != "gaussian" and amount > 1):
        allowed = "0 or more" if kind == "gaussian" else "a fraction in [0, 1]"
        raise GenzooError(f"noise amount {amount!r} for {kind} noise is not allowed: {allowed}.")
    if amount == 0:
        return images
    if kind == "gaussian":
        noise = _draw(images.shape, generator, images.device, normal=True)
        return (images + amount * noise).clamp(0.0, 1.0)
    hit = _draw(images.shape, generator, images.device, normal=False) < amount
    if kind == "mask":
        return images.masked_fill(hit, 0.0)
    salt = _draw(images.shape, generator, images.device, normal=False) < 0.5
    return torch.where(hit, salt.to(images.dtype), images)
