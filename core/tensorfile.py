"""safetensors files with JSON metadata: the only way genzoo stores tensors.

safetensors holds tensors and a str->str header, never code, so loading a file from a
stranger cannot execute anything. Checkpoints need structured metadata (step, optimiser
hyper-parameters, config), which goes into the header as one JSON document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .errors import GenzooError

META_KEY = "genzoo"


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict[str, Any] | None = None) -> None:
    """Write atomically; tensors are made contiguous CPU copies (safetensors rejects shared storage)."""
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    header = {META_KEY: json.dumps(meta or {}, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(flat, str(tmp), metadata=header)


def load_tensors(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    path = Path(path)
    if not path.is_file():
        raise GenzooError(f"{path} does not exist.")
    try:
        tensors = load_file(str(path), device=str(device))

        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise GenzooError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated or corrupt."
        ) from None
    try:
        meta = json.loads(header.get(META_KEY, "{}"))
    except json.JSONDecodeError:
        raise GenzooError(f"{path}: its metadata header is not valid JSON.") from None
    return tensors, meta
