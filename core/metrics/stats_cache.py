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


def cached_tensors(key_parts: dict[str, Any], compute: Callable[[], dict[str, torch.Tensor]],
                   directory: str | os.PathLike | None = None,
                   required: tuple[str, ...] = ()) -> tuple[dict[str, torch.Tensor], str, bool]:
    """(tensors, key, from_cache): the entry for ``key_parts``, or ``compute()``'s tensors, stored.

    ``key_parts`` is also written into the file's header, so an entry explains itself. An entry
    that cannot be read, carries another key or lacks a ``required`` tensor is recomputed.
    """
    key = stats_key(key_parts)
    path = Path(directory or default_stats_dir()) / f"{key}.safetensors"
    if path.is_file():
        try:
            tensors, meta = load_tensors(path)
            missing = [name for name in required if name not in tensors]
            if meta.get("key") == key and not missing:
                return tensors, key, True
            why = f"it lacks {', '.join(missing)}" if missing else "it does not carry the key it is named by"
            warnings.warn(f"metrics cache entry {path} is unusable ({why}); recomputing it.", stacklevel=3)
        except GenzooError as exc:
            warnings.warn(f"metrics cache entry {path} is unreadable ({exc}); recomputing it.", stacklevel=3)
    tensors = compute()
    save_tensors(path, tensors, {"key": key, "parts": key_parts})
    return tensors, key, False


def cached_real_stats(key_parts: dict[str, Any], compute: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
                      directory: str | os.PathLike | None = None) -> RealStats:
    """Load the entry for ``key_parts`` or call ``compute() -> (features, logits|None)`` and store it.

    ``key_parts`` should hold the data description (name, split, pixel digest) and the
    extractor's identity (name, weights sha256, preprocessing).
    """
    def tensors() -> dict[str, torch.Tensor]:
        features, logits = compute()
        features = features.float().cpu()
        gaussian = feature_stats(features)
        out = {"features": features, "mu": gaussian.mu, "sigma": gaussian.sigma}
        if logits is not None:
            out["logits"] = logits.float().cpu()
        return out

    entry, key, hit = cached_tensors(key_parts, tensors, directory, required=("features", "mu", "sigma"))
    gaussian = GaussianStats(entry["mu"], entry["sigma"], int(entry["features"].shape[0]))
    return RealStats(entry["features"], entry.get("logits"), gaussian, key, hit)
