"""``genzoo.load_data``: any data source at a model's size, as uint8 images.

A source is a registered dataset name (whose loader a plugin names), a folder (``folder:PATH``
or a plain path) or ``unpaired:A_DIR,B_DIR``. Cleaning, formatting and the on-disk cache are
the engine's (genzoo.core.data); this module only decides which of them a string means.
"""

from __future__ import annotations

import os
from pathlib import Path

from genzoo.core.data import ImageSet, format_images, load_folder, load_unpaired
from genzoo.core.errors import DataError

from ..zoo import get_zoo, resolve


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where named datasets live: ``root``, else $GENZOO_DATA, else ~/.cache/genzoo/data."""
    if root:
        return Path(root).expanduser()
    if os.environ.get("GENZOO_DATA"):
        return Path(os.environ["GENZOO_DATA"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "genzoo" / "data"


def load_data(
    source: str,
    *,
    image_size: int,
    channels: int,
    resize: str = "resize",
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool | None = None,
) -> ImageSet:
    """Load a source at a model's size: a dataset name, a folder (``folder:PATH`` or a path),
    or ``unpaired:A_DIR,B_DIR``. Returns a genzoo.core.data.ImageSet of uint8 images."""
    if download is None:
        download = os.environ.get("GENZOO_OFFLINE", "") not in ("1", "true", "yes")
    kw = {"image_size": image_size, "channels": channels, "resize": resize}
    if source.startswith("unpaired:"):
        parts = source[len("unpaired:") :].split(",")
        if len(parts) != 2 or not all(parts):
            raise DataError(f"data source {source!r} must look like unpaired:A_DIR,B_DIR.")
        return load_unpaired(Path(parts[0]), Path(parts[1]), **kw)
    if source.startswith("folder:"):
        return load_folder(Path(source[len("folder:") :]), **kw)
    zoo = get_zoo()
    if source not in zoo.datasets and ("/" in source or os.sep in source or Path(source).exists()):
        path = Path(source)
        if not path.is_dir():
            raise DataError(f"data folder {path} does not exist.")
        return load_folder(path, **kw)
    spec = zoo.dataset(source)
    loader = resolve(spec.loader, f"dataset {source!r}")
    images = loader(data_root(root), split, download=download)
    return format_images(images, image_size, channels, resize)
