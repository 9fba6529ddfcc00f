"""CIFAR-10 from its *binary* distribution (never the pickled Python batches).

The binary version stores each image as a 3073-byte record: one label byte, then 1024
red, 1024 green and 1024 blue bytes, rows top to bottom. That is already (C, H, W), so a
batch file is one reshape. We read this version because unpickling the Python version
would run whatever code a tampered file carries.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from genzoo.core.errors import DataError, did_you_mean

from .download import download_file
from .folder import load_folder
from .imageset import ImageSet

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
RECORD = 1 + 3 * 32 * 32
FOLDER = "cifar-10-batches-bin"
SPLIT_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"


def read_cifar_batch(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels uint8 (N,)) from one binary batch file."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"cannot read CIFAR-10 batch {path}: {exc}.") from exc
    if raw.size == 0 or raw.size % RECORD:
        raise DataError(
            f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a multiple of the "
            f"{RECORD}-byte record. It may be truncated; delete it and download again."
        )
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].copy()
    if labels.max() >= len(CLASSES):
        raise DataError(f"{path}: label {labels.max()} is out of range 0..9; is this a CIFAR-100 file?")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _class_names(directory: Path) -> tuple[str, ...]:
    meta = directory / "batches.meta.txt"
    if meta.is_file():
        names = tuple(line.strip() for line in meta.read_text().splitlines() if line.strip())
        if len(names) == len(CLASSES):
            return names
    return CLASSES


def load_cifar10_binary(directory: Path | str, split: str = "train") -> ImageSet:
    """One split from a ``cifar-10-batches-bin`` folder."""
    directory = Path(directory)
    missing = [f for f in SPLIT_FILES[split] if not (directory / f).is_file()]
    if missing:
        raise DataError(f"CIFAR-10 {split} split incomplete in {directory}: missing {', '.join(missing)}.")
    parts = [read_cifar_batch(directory / f) for f in SPLIT_FILES[split]]
    return ImageSet(
        images=torch.from_numpy(np.concatenate([p[0] for p in parts])),
        labels=torch.from_numpy(np.concatenate([p[1] for p in parts]).astype(np.int64)),
        classes=_class_names(directory),
        name="cifar10",
    )


def _safe_members(archive: tarfile.TarFile, archive_path: Path) -> list[tarfile.TarInfo]:
    members = []
    for m in archive.getmembers():
        p = PurePosixPath(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise DataError(
                f"{archive_path} contains an unsafe member {m.name!r} (absolute path, '..', link or device); "
                "refusing to extract it. Delete the archive and download it again."
            )
        members.append(m)
    return members


def extract_cifar(archive_path: Path, target: Path) -> Path:
    """Extract the archive's ``cifar-10-batches-bin`` into ``target``, via a temporary folder."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".extract-") as tmp:
        try:
            with tarfile.open(archive_path, "r:gz") as archive:
                members = _safe_members(archive, archive_path)
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: a second guard
                    archive.extractall(tmp, members=members, filter="data")
                else:
                    archive.extractall(tmp, members=members)  # members checked above
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f"cannot extract {archive_path} ({exc}); delete it and download again.") from exc
        extracted = Path(tmp) / FOLDER
        if not extracted.is_dir():
            raise DataError(f"{archive_path} has no {FOLDER}/ folder; is it the CIFAR-10 binary version?")
        final = target / FOLDER
        if final.exists():
            shutil.rmtree(final)
        os.replace(extracted, final)
    return final


def load_cifar10(root: Path | str, split: str = "train", download: bool = False) -> ImageSet:
    """CIFAR-10 at 32x32 RGB from ``root``/cifar10/cifar-10-batches-bin (or ``root``/cifar-10-batches-bin).

    A ``root``/cifar10/<split>/<class>/*.png image folder is read instead when present.
    """
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split {split!r}; expected train or test.{did_you_mean(split, SPLIT_FILES)}")
    root = Path(root).expanduser()
    candidates = [root / "cifar10" / FOLDER, root / FOLDER]
    for directory in candidates:
        if all((directory / f).is_file() for f in SPLIT_FILES[split]):
            return load_cifar10_binary(directory, split)
    image_folder = root / "cifar10" / split
    if image_folder.is_dir():

        images = load_folder(image_folder, image_size=32, channels=3)
        images.name = "cifar10"
        return images
    if download:
        archive = download_file(URL, root / "cifar10" / "cifar-10-binary.tar.gz", MD5)
        return load_cifar10_binary(extract_cifar(archive, root / "cifar10"), split)
    raise DataError(
        f"CIFAR-10 {split} files not found (looked in {' and '.join(map(str, candidates))} for "
        f"{', '.join(SPLIT_FILES[split])}, and for an image folder {image_folder}). With network "
        f"access genzoo downloads the binary version into {root / 'cifar10'} (unless GENZOO_OFFLINE=1); offline, "
        "copy cifar-10-batches-bin there or train on 'digits'/'mnist'."
    )
