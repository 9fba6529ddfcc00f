"""Image folders as data sources: scan, clean, decode, format, cache.

A folder of class subfolders (``cats/``, ``dogs/``) becomes a labelled set; a flat folder
an unlabeled one; two folders an unpaired A/B set for translation models. Files the scan
rejects (see genzoo.core.data.clean) are skipped and listed in the set's report. The
decoded, formatted pixels are cached on disk, so only the first run pays for JPEG decoding.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genzoo.core.errors import DataError

from ..atomic import sha256_file
from .cache import cache_key, cached, default_cache_dir
from .clean import CleanReport, declared_size, list_files, scan_folder
from .imageset import ImageSet
from .transforms import RESIZE_MODES, Resize, fit_size

log = logging.getLogger("genzoo.data")


def decode_image(path: Path, channels: int) -> torch.Tensor:
    """One file -> uint8 (C, H, W) in grey (1) or RGB (3).

    Transparent pixels are composited onto white (icons and sprites would otherwise show
    arbitrary colours); 16-bit greys are scaled to 8 bits rather than clipped.
    """
    mode = "L" if channels == 1 else "RGB"
    if (too_large := declared_size(path)) is not None:  # the scan passed it, so it changed since: still never decode
        raise DataError(f"{path}: {too_large[1]}")
    with Image.open(path) as im:
        if im.mode in ("I", "I;16", "I;16B", "I;16L"):
            arr = np.rint(np.asarray(im, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8)
            im = Image.fromarray(arr, "L")
        elif im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        arr = np.asarray(im.convert(mode), dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def decode_files(paths: list[Path], image_size: int, channels: int,
                 resize: Resize = "resize") -> torch.Tensor:
    """Decode and fit every file into one preallocated uint8 (N, C, S, S) tensor."""
    out = torch.empty((len(paths), channels, image_size, image_size), dtype=torch.uint8)
    for i, path in enumerate(paths):
        try:
            img = decode_image(path, channels)
        except Exception as exc:  # the scan passed it, so this is a file changed since; name it
            raise DataError(f"cannot decode {path} ({exc}); it changed during loading? Run again.") from exc
        out[i] = fit_size(img.unsqueeze(0), image_size, resize)[0]
    return out


def _check_args(image_size: int, channels: int, resize: str) -> None:
    if not isinstance(image_size, int) or image_size < 1:
        raise DataError(f"image_size must be a positive integer; got {image_size!r}.")
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grey) or 3 (RGB); got {channels!r}.")
    if resize not in RESIZE_MODES:
        raise DataError(f"resize must be one of {', '.join(RESIZE_MODES)}; got {resize!r}.")


def load_folder(path: Path | str, *, image_size: int, channels: int, resize: Resize = "resize",
                cache_dir: Path | str | None = None, use_cache: bool = True) -> ImageSet:
    """An image folder as a uint8 set at ``image_size`` x ``image_size`` and ``channels``.

    Class subfolders become labels (sorted names). Hashing every file decides the cache
    key; on a hit nothing is decoded. ``report`` on the result lists skipped files.
    """
    _check_args(image_size, channels, resize)
    root = Path(path).expanduser()
    files, _ = list_files(root)
    hashes = {rel: sha256_file(root / rel) for rel, _ in files}
    key = cache_key(((rel.as_posix(), h) for rel, h in hashes.items()), image_size, channels, resize)

    def build() -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        report = scan_folder(root, hashes=hashes)
        if not report.good:
            raise DataError(f"no usable images in {root}.\n{report.format()}")
        images = decode_files(report.good, image_size, channels, resize)
        labels = None if report.labels is None else torch.tensor(report.labels, dtype=torch.int64)
        return images, labels, {"report": report.to_dict(), "summary": report.summary()}

    if use_cache:
        entry = cached(cache_dir or default_cache_dir(), key, build)
        images, labels, meta = entry.images, entry.labels, entry.meta
    else:
        images, labels, meta = build()
    report = CleanReport.from_dict(meta["report"], root=root)
    report.hashes = {p: hashes[p.relative_to(root)] for p in report.good}
    if report.n_problems:
        log.warning("%s (run `genzoo data check %s` for the list)", report.summary(), root)
    return ImageSet(images=images, labels=labels, classes=report.classes if labels is not None else (),
                    name=root.name, report=report)


def load_unpaired(path_a: Path | str, path_b: Path | str, *, image_size: int, channels: int,
                  resize: Resize = "resize", cache_dir: Path | str | None = None,
                  use_cache: bool = True) -> ImageSet:
    """Two unrelated folders (domain A in ``images``, B in ``images_b``) for unpaired translation.

    Labels are dropped (the pairing is unknown by definition); the report is domain A's,
    with B's findings logged.
    """
    kw = {"image_size": image_size, "channels": channels, "resize": resize,
          "cache_dir": cache_dir, "use_cache": use_cache}
    a, b = load_folder(path_a, **kw), load_folder(path_b, **kw)
    return ImageSet(images=a.images, labels=None, name=f"{a.name}|{b.name}", images_b=b.images,
                    report=a.report)
