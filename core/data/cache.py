"""On-disk cache of formatted uint8 image sets.

Decoding and resizing a folder of JPEGs is the slow part of reading one; doing it once
and keeping the result as a single safetensors file makes every later run (and every
epoch) read one contiguous tensor. An entry is keyed by what determines its contents —
the loader version, each file's relative path and sha256, the image size, channels and
resize mode — so editing, adding or removing a file makes a new key rather than a stale
hit.

Writes are atomic (a temporary file in the same folder, then os.replace) and guarded by a
file lock, so two runs that need the same entry build it once and both read it. The JSON
metadata is written last and holds the data file's sha256: an entry whose data does not
match it (a crash, a disk error, a hand edit) is reported and rebuilt, never trusted.
Safetensors holds plain tensors, so reading a cache file cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ..atomic import atomic_write_bytes

log = logging.getLogger("genzoo.data")

LOADER_VERSION = 1
"""Bump when decoding or formatting changes, so old entries stop matching."""

Built = tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]


def default_cache_dir() -> Path:
    """$GENZOO_CACHE/images, else ~/.cache/genzoo/images."""
    base = os.environ.get("GENZOO_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "genzoo") / "images"


def cache_key(files: Iterable[tuple[str, str]], image_size: int, channels: int, resize: str,
              version: int = LOADER_VERSION) -> str:
    """sha256 over the loader version, every (relative path, content sha256) and the format."""
    h = hashlib.sha256()
    h.update(f"genzoo-images v{version} size={image_size} channels={channels} resize={resize}\n".encode())
    for rel, digest in files:
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()


@dataclass
class CacheEntry:
    images: torch.Tensor
    labels: torch.Tensor | None
    meta: dict[str, Any]
    path: Path
    hit: bool
    """True when read from disk, False when built by this call."""


def _paths(cache_dir: Path, key: str) -> tuple[Path, Path, Path]:
    return cache_dir / f"{key}.safetensors", cache_dir / f"{key}.json", cache_dir / f"{key}.lock"


def read_entry(cache_dir: Path, key: str) -> CacheEntry | None:
    """The entry for ``key``, or None when absent or damaged (a damaged one is logged)."""
    data_path, meta_path, _ = _paths(Path(cache_dir), key)
    if not meta_path.exists() or not data_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        blob = data_path.read_bytes()
        if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(blob).hexdigest():
            raise ValueError("data file does not match its metadata")
        tensors = load_safetensors(blob)
        images, labels = tensors["images"], tensors.get("labels")
        if images.dtype != torch.uint8 or list(images.shape) != meta["shape"]:
            raise ValueError(f"images {images.dtype} {list(images.shape)}; metadata: uint8 {meta['shape']}")
        if labels is not None and (labels.dtype != torch.int64 or labels.shape != images.shape[:1]):
            raise ValueError(f"labels {labels.dtype} {list(labels.shape)} != {images.shape[0]} images")
    except Exception as exc:  # any unreadable entry is rebuilt, never fatal
        log.warning("image cache entry %s is damaged (%s); rebuilding it", data_path, exc)
        return None
    return CacheEntry(images, labels, meta["meta"], data_path, hit=True)


def write_entry(cache_dir: Path, key: str, images: torch.Tensor, labels: torch.Tensor | None,
                meta: dict[str, Any]) -> Path:
    """Write data then metadata, each atomically; the metadata (written last) vouches for the data."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    data_path, meta_path, _ = _paths(cache_dir, key)
    tensors = {"images": images.contiguous()}
    if labels is not None:
        tensors["labels"] = labels.to(torch.int64).contiguous()
    blob = save_safetensors(tensors, metadata={"format": "genzoo-images", "version": str(LOADER_VERSION)})
    atomic_write_bytes(data_path, blob)
    record = {"key": key, "version": LOADER_VERSION, "shape": list(images.shape),
              "sha256": hashlib.sha256(blob).hexdigest(), "meta": meta}
    atomic_write_bytes(meta_path, json.dumps(record, indent=1).encode())
    return data_path


def cached(cache_dir: Path | str, key: str, build: Callable[[], Built]) -> CacheEntry:
    """Read the entry for ``key`` or build and store it, once across concurrent processes."""
    cache_dir = Path(cache_dir).expanduser()
    entry = read_entry(cache_dir, key)
    if entry is not None:
        return entry
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_paths(cache_dir, key)[2])):
        entry = read_entry(cache_dir, key)  # another process may have built it while we waited
        if entry is not None:
            return entry
        images, labels, meta = build()
        path = write_entry(cache_dir, key, images, labels, meta)
    return CacheEntry(images, labels, meta, path, hit=False)
