"""On-disk cache of real-data features and their Gaussian statistics.

Extracting Inception features of 50k real images costs minutes and is the same for every
model evaluated against that data, so the features (for KID and the k-NN metrics), the
logits (for IS-style checks) and the mean/covariance (for FID) are stored once per
(images, extractor, weights, preprocessing). The key hashes the actual uint8 pixels used,
not just the data set's name, so a changed folder or split can never hit a stale entry.
Entries are safetensors written atomically; an unreadable entry is recomputed, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genzoo.core.errors import GenzooError
from genzoo.core.tensorfile import load_tensors, save_tensors

from .frechet import GaussianStats, feature_stats

CACHE_FORMAT = 1


def default_stats_dir() -> Path:
    """$GENZOO_CACHE/metrics/stats, else ~/.cache/genzoo/metrics/stats."""
    base = os.environ.get("GENZOO_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "genzoo") / "metrics" / "stats"


def images_digest(images: torch.Tensor) -> str:
    """sha256 of uint8 images (shape included): what the cache key trusts instead of names."""
    h = hashlib.sha256(f"{tuple(images.shape)} {images.dtype}".encode())
    h.update(images.contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


@dataclass
class RealStats:
    features: torch.Tensor
    logits: torch.Tensor | None
    gaussian: GaussianStats
    key: str
    from_cache: bool


def stats_key(key_parts: dict[str, Any]) -> str:
    text = json.dumps({"format": CACHE_FORMAT, **key_parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_real_stats(key_parts: dict[str, Any], compute: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
                      directory: str | os.PathLike | None = None) -> RealStats:
    """Load the entry for ``key_parts`` or call ``compute() -> (features, logits|None)`` and store it.

    ``key_parts`` should hold the data description (name, split, pixel digest) and the
    extractor's identity (name, weights sha256, preprocessing); it is also written into the
    file's header so an entry explains itself.
    """
    key = stats_key(key_parts)
    path = Path(directory or default_stats_dir()) / f"{key}.safetensors"
    if path.is_file():
        try:
            tensors, meta = load_tensors(path)
            if meta.get("key") == key:
                return RealStats(tensors["features"], tensors.get("logits"),
                                 GaussianStats(tensors["mu"], tensors["sigma"], int(tensors["features"].shape[0])),
                                 key, True)
            warnings.warn(f"{path} does not carry the key it is named by; recomputing it.", stacklevel=2)
        except (GenzooError, KeyError) as exc:
            warnings.warn(f"real-statistics cache entry {path} is unreadable ({exc}); recomputing it.", stacklevel=2)
    features, logits = compute()
    features = features.float().cpu()
    gaussian = feature_stats(features)
    tensors = {"features": features, "mu": gaussian.mu, "sigma": gaussian.sigma}
    if logits is not None:
        tensors["logits"] = logits.float().cpu()
    save_tensors(path, tensors, {"key": key, "parts": key_parts})
    return RealStats(features, tensors.get("logits"), gaussian, key, False)
