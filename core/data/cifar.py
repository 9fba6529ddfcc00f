"""CIFAR-10 from its *binary* distribution (never the pickled Python batches) or a JPEG zip.

The binary version stores each image as a 3073-byte record: one label byte, then 1024
red, 1024 green and 1024 blue bytes, rows top to bottom. That is already (C, H, W), so a
batch file is one reshape. We read this version because unpickling the Python version
would run whatever code a tampered file carries.

Where only ``cifar10-jpg.zip`` is on disk (train/<class>/NNNN.jpg, test/<class>/NNNN.jpg and
a SHA256SUMS file) it is read in place: every member is checked against SHA256SUMS and
decoded once, and the decoded split is kept in the on-disk image cache under a key made of
the zip's own sha256, so a changed zip is a new entry and a verified one is never decoded
again. The JPEGs are lossy re-encodings of the originals, so the set says so in its
``origin``: scores on it are close to, not equal to, scores on the official binary set, and
its bits/dim are lower than the binary set's (bench/RESULTS.md: glow-cifar10 reaches 3.31 after
2,000 steps, below the Glow paper's converged 3.35 with a far larger model).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from genzoo.core.errors import DataError, did_you_mean

from ..atomic import sha256_file
from .cache import cached, default_cache_dir
from .download import download_file
from .folder import load_folder
from .imageset import ImageSet

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
RECORD = 1 + 3 * 32 * 32
FOLDER = "cifar-10-batches-bin"
SPLIT_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
ZIP_NAME = "cifar10-jpg.zip"
ZIP_VERSION = 1
"""Bump when decoding the zip changes, so old cache entries stop matching."""
OFFICIAL = "CIFAR-10 binary set (official pixels)"
JPEG_ORIGIN = ("CIFAR-10 JPEG re-encoding ({name}, sha256 {sha}): lossy, mean absolute error about 4-9/255 "
               "against the official pixels, so figures on it are close to, not equal to, the binary set's; "
               "bits/dim are lower (JPEG drops the fine detail that costs the most bits): do not compare them "
               "with published CIFAR-10 bits/dim")


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
        origin=OFFICIAL,
    )


def _read_sums(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    try:
        text = archive.read("SHA256SUMS").decode("ascii")
    except KeyError:
        raise DataError(f"{path} has no SHA256SUMS file; is it the CIFAR-10 JPEG zip? Copy it again.") from None
    sums = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{path}: SHA256SUMS line {n} is not '<sha256>  <file>': {line[:80]!r}.")
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _split_members(sums: dict[str, str], archive: zipfile.ZipFile, path: Path, split: str,
                   per_class: int) -> list[tuple[str, int]]:
    """(member, label) of one split in class order, then file order; the first ``per_class`` of each."""
    listed = {n for n in archive.namelist() if n.startswith(f"{split}/") and not n.endswith("/")}
    unlisted = sorted(listed - sums.keys())
    if unlisted:
        raise DataError(f"{path}: {unlisted[0]} (and {len(unlisted) - 1} more) is not in SHA256SUMS; "
                        "the zip was changed after its checksums were made. Copy the original again.")
    by_class: dict[int, list[str]] = {}
    for name in sorted(n for n in sums if n.startswith(f"{split}/")):
        parts = name.split("/")
        if len(parts) != 3 or parts[1] not in CLASSES:
            raise DataError(f"{path}: member {name} is not {split}/<class>/<file> with a CIFAR-10 class "
                            f"({', '.join(CLASSES)}).")
        if name not in listed:
            raise DataError(f"{path}: {name} is listed in SHA256SUMS but missing from the zip; copy it again.")
        by_class.setdefault(CLASSES.index(parts[1]), []).append(name)
    if len(by_class) != len(CLASSES):
        missing = [c for i, c in enumerate(CLASSES) if i not in by_class]
        raise DataError(f"{path}: the {split} split has no images of {', '.join(missing)}.")
    return [(name, label) for label in sorted(by_class)
            for name in (by_class[label][:per_class] if per_class else by_class[label])]


def _decode_zip(path: Path, split: str, per_class: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    # Deferred: PIL is needed only the first time a zip split is decoded (later reads hit the cache).
    from PIL import Image

    try:
        with zipfile.ZipFile(path) as archive:
            sums = _read_sums(archive, path)
            members = _split_members(sums, archive, path, split, per_class)
            images = np.empty((len(members), 32, 32, 3), dtype=np.uint8)
            for i, (name, _) in enumerate(members):
                blob = archive.read(name)
                if hashlib.sha256(blob).hexdigest() != sums[name]:
                    raise DataError(f"{path}: {name} does not match its SHA256SUMS entry; the zip is damaged. "
                                    "Copy it again.")
                with Image.open(io.BytesIO(blob)) as im:
                    arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
                if arr.shape != (32, 32, 3):
                    raise DataError(f"{path}: {name} is {arr.shape[1]}x{arr.shape[0]}, not 32x32.")
                images[i] = arr
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read {path} as a zip ({exc}); it may be truncated. Copy it again.") from None
    labels = torch.tensor([label for _, label in members], dtype=torch.int64)
    meta = {"verified": "every member against SHA256SUMS", "members": len(members)}
    return torch.from_numpy(images.transpose(0, 3, 1, 2).copy()), labels, meta


def load_cifar10_zip(path: Path | str, split: str = "train", *, per_class: int = 0,
                     cache_dir: Path | str | None = None, use_cache: bool = True) -> ImageSet:
    """One split of the CIFAR-10 JPEG zip, labelled, in class order (``per_class``: the first K of each
    class, 0 for all). Decoded and verified once, then read from the image cache."""
    path = Path(path).expanduser()
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split {split!r}; expected train or test.{did_you_mean(split, SPLIT_FILES)}")
    if per_class < 0:
        raise DataError(f"per_class must be 0 (all) or positive; got {per_class}.")
    if not path.is_file():
        raise DataError(f"{path} does not exist.")
    digest = sha256_file(path)
    key = hashlib.sha256(f"genzoo-cifar10-zip v{ZIP_VERSION} {digest} {split} per_class={per_class}".encode())

    def build() -> tuple[torch.Tensor, torch.Tensor, dict]:
        images, labels, meta = _decode_zip(path, split, per_class)
        return images, labels, {**meta, "zip": path.name, "zip_sha256": digest, "split": split}

    if use_cache:
        entry = cached(cache_dir or default_cache_dir(), key.hexdigest(), build)
        images, labels = entry.images, entry.labels
    else:
        images, labels, _ = build()
    return ImageSet(images=images, labels=labels, classes=CLASSES, name="cifar10",
                    origin=JPEG_ORIGIN.format(name=path.name, sha=digest[:16]))


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

    Without the binary set, ``root``/cifar10/cifar10-jpg.zip (or ``root``/cifar10-jpg.zip), the JPEG
    re-encoding, is read; then a ``root``/cifar10/<split>/<class>/*.png image folder.
    """
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split {split!r}; expected train or test.{did_you_mean(split, SPLIT_FILES)}")
    root = Path(root).expanduser()
    candidates = [root / "cifar10" / FOLDER, root / FOLDER]
    for directory in candidates:
        if all((directory / f).is_file() for f in SPLIT_FILES[split]):
            return load_cifar10_binary(directory, split)
    zips = [root / "cifar10" / ZIP_NAME, root / ZIP_NAME]
    for archive in zips:
        if archive.is_file():
            return load_cifar10_zip(archive, split)
    image_folder = root / "cifar10" / split
    if image_folder.is_dir():

        images = load_folder(image_folder, image_size=32, channels=3)
        images.name = "cifar10"
        images.origin = f"CIFAR-10 image folder {image_folder}"
        return images
    if download:
        archive = download_file(URL, root / "cifar10" / "cifar-10-binary.tar.gz", MD5)
        return load_cifar10_binary(extract_cifar(archive, root / "cifar10"), split)
    raise DataError(
        f"CIFAR-10 {split} files not found (looked in {' and '.join(map(str, candidates))} for "
        f"{', '.join(SPLIT_FILES[split])}, for {' and '.join(map(str, zips))}, and for an image folder "
        f"{image_folder}). With network access genzoo downloads the binary version into {root / 'cifar10'} "
        "(unless GENZOO_OFFLINE=1); offline, copy cifar-10-batches-bin or cifar10-jpg.zip there or train on "
        "'digits'/'mnist'."
    )
