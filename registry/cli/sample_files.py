"""``genzoo sample --out samples.npz`` / ``--out DIR/``: many samples as files other tools can score.

torch-fidelity and clean-fid read folders of PNGs; OpenAI's ADM evaluator and genzoo's own
``eval`` read an .npz of uint8 NHWC images (``arr_0``). Ten thousand images do not fit in one
``sample`` call on a small machine, so they are drawn in batches from one seeded generator
(the same seed and batch size give the same files) and each batch is stored before the next
is drawn. A folder is filled under a temporary name and
renamed when complete, and an .npz is written atomically: an interrupted run leaves nothing
half written, and an existing folder with files in it is never overwritten.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from genzoo.core.atomic import atomic_dir, atomic_write_bytes, check_can_write
from genzoo.core.errors import GenzooError
from genzoo.core.images import to_uint8
from genzoo.core.progress import Progress


def bulk_kind(out: str) -> str:
    """"npz", "dir" (a trailing slash or an existing folder) or "grid" (anything else: an image file)."""
    if out.endswith(".npz"):
        return "npz"
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return "dir"
    return "grid"


def check_bulk_target(out: str, kind: str) -> Path:
    """The target path, refused now (before sampling) when writing it would destroy a user's files."""
    path = Path(out).expanduser()
    if kind == "dir" and path.is_dir() and any(path.iterdir()):
        raise GenzooError(f"--out {path} is a folder with files in it; give a new or empty folder, so that "
                          "no earlier samples are overwritten or mixed with these.")
    check_can_write(path, f"--out {path}", folder=kind == "dir")
    return path


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, format="PNG")
    return buf.getvalue()


def write_samples(draw: Callable[[int, torch.Tensor | None], torch.Tensor], n: int, out: str, kind: str, *,
                  batch_size: int, labels: torch.Tensor | None = None, progress: bool | None = None) -> Path:
    """Draw ``n`` samples, ``batch_size`` at a time (``draw(k, labels)`` -> k images in [-1, 1] or uint8),
    into an .npz (uint8 NHWC under ``arr_0``) or a folder of PNGs named 000000.png, 000001.png, ..."""
    path = check_bulk_target(out, kind)
    bar = Progress(n, 0, f"sampling {n} images", enabled=progress)
    width = max(6, len(str(n - 1)))
    try:
        if kind == "npz":
            array: Any = None
            for start in range(0, n, batch_size):
                k = min(batch_size, n - start)
                batch = to_uint8(draw(k, None if labels is None else labels[start:start + k]))
                if array is None:
                    array = np.empty((n, *batch.shape[2:], batch.shape[1]), dtype=np.uint8)
                array[start:start + k] = batch.permute(0, 2, 3, 1).numpy()
                bar.update(start + k)
            buf = io.BytesIO()
            np.savez(buf, arr_0=array)
            atomic_write_bytes(path, buf.getvalue())
            return path
        with atomic_dir(path) as tmp:
            for start in range(0, n, batch_size):
                k = min(batch_size, n - start)
                batch = to_uint8(draw(k, None if labels is None else labels[start:start + k]))
                for i, image in enumerate(batch.permute(0, 2, 3, 1).numpy()):
                    (tmp / f"{start + i:0{width}d}.png").write_bytes(_png(np.ascontiguousarray(image)))
                bar.update(start + k)
        return path
    finally:
        bar.close()
