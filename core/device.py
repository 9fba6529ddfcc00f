"""Choosing a device and setting it up for fast training."""

from __future__ import annotations

import torch

from .errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device={name!r} is not a torch device; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here; use auto or cpu.")
    return device


def flush_denormals() -> None:
    """Flush denormal floats to zero on the CPU, for the whole process.

    Weights and Adam moments that drift below 1.2e-38 in long runs send the CPU down a slow path
    for every operation that meets them: a realnvp-cifar10 checkpoint with 34,000 denormal
    weights and 316,000 denormal moments resumed 3.4x slower than with them flushed
    (bench/denormals.py, bench/RESULTS.md). Values that small change no result.
    """
    torch.set_flush_denormal(True)  # False (and nothing changes) on a CPU without the flag


def configure(device: torch.device) -> None:
    """Process-wide settings for fast training: denormals flushed; on CUDA, TF32 matmuls/convs and
    cuDNN autotuning, free speed for GAN-sized convs. Evaluation and the commands that open a model
    only flush denormals: they leave float32 matmuls as they find them."""
    flush_denormals()
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
