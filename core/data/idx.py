"""MNIST-family IDX files: reader and the MNIST / Fashion-MNIST loaders.

IDX is LeCun's raw format: a 4-byte magic (two zero bytes, a type code, the number of
dimensions), big-endian int32 sizes, then the values. We read only unsigned bytes (type
0x08), the type every MNIST-family file uses, and check every size against the bytes
present, so a truncated or mislabelled file fails here with its name rather than later as
a reshape error. Files may be gzip-compressed (detected by content, not by name).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genzoo.core.errors import DataError, did_you_mean

from .download import download_file
from .imageset import ImageSet

SPLITS = ("train", "test")
_PREFIX = {"train": "train", "test": "t10k"}
_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


@dataclass(frozen=True)
class IdxSource:
    """Where a member of the MNIST family lives and what its files' md5s are."""

    name: str
    folder: str
    mirror: str
    md5: dict[str, str]
    classes: tuple[str, ...]


MNIST = IdxSource(
    name="mnist",
    folder="mnist",
    mirror="https://ossci-datasets.s3.amazonaws.com/mnist/",
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    classes=tuple(str(d) for d in range(10)),
)

FASHION_MNIST = IdxSource(
    name="fashion-mnist",
    folder="fashion-mnist",
    mirror="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}.") from exc
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"IDX file {path} is a damaged gzip archive ({exc}); delete it and download it again."
            ) from exc
    return raw


def read_idx(path: Path | str) -> np.ndarray:
    """The array stored in one IDX file (gzip or raw), shape from its header, dtype uint8."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path} is not an IDX file (magic {data[:4].hex() or 'missing'}; expected 0000 08 0n). "
            "Check that the file is an MNIST-family images/labels file."
        )
    dtype, ndim = data[2], data[3]
    if dtype != _UBYTE:
        raise DataError(f"{path}: IDX type code 0x{dtype:02x} is not supported; only unsigned bytes (0x08).")
    if not 1 <= ndim <= 4:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions; expected 1 (labels) or 3 (images).")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated: its header needs {header} bytes, the file has {len(data)}.")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64))
    have = len(data) - header
    if have != expected:
        what = "truncated" if have < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: header shape {dims} needs {expected} bytes of data, found {have}. "
            "Delete it and download it again."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        hint = did_you_mean(split, SPLITS)
        raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}.{hint}")
    return split


def _find(directory: Path, stem: str) -> Path | None:
    """The file for e.g. stem "train-images-idx3-ubyte", raw or gzipped, dash or dot spelling."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def idx_files(directory: Path | str, split: str) -> tuple[Path, Path] | None:
    """(images, labels) files of ``split`` in ``directory``, or None when either is missing."""
    prefix = _PREFIX[_check_split(split)]
    directory = Path(directory)
    images = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels = _find(directory, f"{prefix}-labels-idx1-ubyte")
    return (images, labels) if images and labels else None


def load_idx_dataset(directory: Path | str, split: str = "train", *, classes: tuple[str, ...] = (),
                     name: str = "") -> ImageSet:
    """Images (N, 1, H, W) and labels of one split of an MNIST-family folder."""
    directory = Path(directory)
    found = idx_files(directory, split)
    if found is None:
        prefix = _PREFIX[split]
        raise DataError(
            f"no {split} IDX files in {directory}: expected {prefix}-images-idx3-ubyte[.gz] and "
            f"{prefix}-labels-idx1-ubyte[.gz]."
        )
    images_path, labels_path = found
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected a 3-D images file (N, H, W); header says {images.shape}.")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a 1-D labels file (N,); header says {labels.shape}.")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "the two files are from different sets."
        )
    if classes and len(labels) and int(labels.max()) >= len(classes):
        raise DataError(f"{labels_path}: label {int(labels.max())} is out of range 0..{len(classes) - 1}.")
    return ImageSet(
        images=torch.from_numpy(images.copy()).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        classes=classes,
        name=name or directory.name,
    )


def _load_family(source: IdxSource, root: Path | str, split: str, download: bool) -> ImageSet:
    _check_split(split)
    root = Path(root).expanduser()
    candidates = [root / source.folder, root]
    for directory in candidates:
        if idx_files(directory, split):
            return load_idx_dataset(directory, split, classes=source.classes, name=source.name)
    if download:
        target = root / source.folder
        prefix = _PREFIX[split]
        for file, md5 in source.md5.items():
            if file.startswith(prefix):
                download_file(source.mirror + file, target / file, md5)
        return load_idx_dataset(target, split, classes=source.classes, name=source.name)
    looked = " and ".join(str(c) for c in candidates)
    raise DataError(
        f"{source.name} {split} files not found (looked in {looked} for "
        f"{_PREFIX[split]}-images-idx3-ubyte[.gz]). With network access "
        f"genzoo downloads them into {root / source.folder} (unless GENZOO_OFFLINE=1); offline, copy the "
        "IDX files there or use the bundled 'digits' data set."
    )


def load_mnist(root: Path | str, split: str = "train", download: bool = False) -> ImageSet:
    """MNIST at its native 28x28, 1 channel, labels 0..9, from ``root``/mnist (or ``root``)."""
    return _load_family(MNIST, root, split, download)


def load_fashion_mnist(root: Path | str, split: str = "train", download: bool = False) -> ImageSet:
    """Fashion-MNIST at 28x28, 1 channel, 10 clothing classes, from ``root``/fashion-mnist (or ``root``)."""
    return _load_family(FASHION_MNIST, root, split, download)
