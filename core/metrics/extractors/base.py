"""What every feature extractor offers metrics: uint8 images in, pooled features (and logits) out."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from genzoo.core.errors import GenzooError

_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601-2, as PIL's convert("L")


def state_dict_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 over (name, dtype, shape, bytes) of every tensor in name order.

    Hashing the tensors rather than a file makes the digest the same whether the weights came
    as .safetensors, .pth or from a hub, so the protocol names the weights, not their packaging.
    """
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def match_channels(x: torch.Tensor, channels: int) -> tuple[torch.Tensor, str]:
    """Float images (N, C, H, W) -> ``channels`` channels, and the rule used (for the protocol)."""
    have = x.shape[1]
    if have == channels:
        return x, "gray" if channels == 1 else "rgb"
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1), "repeat-gray-to-rgb"
    if have == 3 and channels == 1:
        return (x * _LUMA.to(x)[None, :, None, None]).sum(1, keepdim=True), "rgb-to-gray (ITU-R 601-2 luma)"
    raise GenzooError(f"cannot feed {have}-channel images to an extractor that takes {channels} channels.")


def resize_to(x: torch.Tensor, size: int, mode: str, antialias: bool) -> torch.Tensor:
    if x.shape[-2:] == (size, size):
        return x
    align = False if mode in ("bilinear", "bicubic") else None
    return F.interpolate(x, size=(size, size), mode=mode, align_corners=align, antialias=antialias)


class FeatureExtractor(nn.Module):
    """Subclasses set the attributes below and implement ``preprocess`` and ``forward``.

    ``forward(x)`` returns ``(features, logits)``: pooled penultimate features (N, D) and class
    logits (N, K), or None when the network has no classifier head.
    """

    name: str = ""
    feature_dim: int = 0
    input_size: int = 0
    channels: int = 3
    resize_mode: str = "bilinear"
    normalize: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.weights_sha256 = ""
        self.last_channel_rule = ""

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) -> the float input the network expects."""
        raise NotImplementedError

    def channel_rule(self, in_channels: int) -> str:
        return match_channels(torch.zeros(1, in_channels, 1, 1), self.channels)[1]

    def describe(self, in_channels: int) -> dict[str, Any]:
        """The protocol fields this extractor fixes, for inputs with ``in_channels`` channels."""
        return {"extractor": self.name, "extractor_sha256": self.weights_sha256, "input_size": self.input_size,
                "resize": self.resize_mode, "normalize": self.normalize, "channels": self.channel_rule(in_channels)}


@torch.no_grad()
def extract(extractor: FeatureExtractor, images: torch.Tensor, *, batch_size: int = 200,
            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (float32, CPU) and logits of uint8 images, in batches, in eval mode."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise GenzooError(f"extract expects uint8 (N, C, H, W) images, got {images.dtype} {tuple(images.shape)}")
    device = torch.device(device) if device is not None else next(extractor.parameters()).device
    extractor.to(device).eval()
    feats, logits = [], []
    for part in images.split(batch_size):
        f, lg = extractor(extractor.preprocess(part.to(device)))
        feats.append(f.float().cpu())
        if lg is not None:
            logits.append(lg.float().cpu())
    return torch.cat(feats), (torch.cat(logits) if logits else None)


def load_state_file(path: str) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file loaded with weights_only=True (never pickle code)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise GenzooError(f"weights file {p} does not exist.")
    if p.suffix == ".safetensors":

        return load_file(str(p))
    try:
        state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GenzooError(f"{p} is not a weights-only torch file ({exc}); convert it to safetensors.") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GenzooError(f"{p} does not hold a flat state dict of tensors.")
    return state
