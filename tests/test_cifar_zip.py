"""CIFAR-10 from the whole JPEG zip (../shared/data/cifar10-jpg.zip): read in place, every member checked
against SHA256SUMS once, decoded once into the image cache, labelled from its class folders."""

from __future__ import annotations

import hashlib
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import SHARED_DATA

from genzoo.core.data.cifar import CLASSES, JPEG_ORIGIN, OFFICIAL, load_cifar10, load_cifar10_zip
from genzoo.core.errors import DataError


@pytest.fixture(scope="session")
def cifar_zip() -> Path:
    path = SHARED_DATA / "cifar10-jpg.zip"
    if not path.is_file():
        pytest.skip(f"the CIFAR-10 JPEG zip is not at {path} (set GENZOO_TEST_DATA to the folder holding it)")
    return path


def small_zip(source: Path, target: Path, per_class: int, damage: str = "") -> Path:
    """A zip in the real one's layout with its first ``per_class`` test images of each class and their real
    SHA256SUMS lines; ``damage`` flips a byte of that member after its checksum was taken."""
    with zipfile.ZipFile(source) as src:
        sums = dict(line.split()[::-1] for line in src.read("SHA256SUMS").decode().splitlines())
        names = [f"test/{c}/{i:04d}.jpg" for c in CLASSES for i in range(per_class)]
        with zipfile.ZipFile(target, "w") as out:
            out.writestr("SHA256SUMS", "".join(f"{sums[n]}  {n}\n" for n in names))
            for n in names:
                blob = bytearray(src.read(n))
                if n == damage:
                    blob[len(blob) // 2] ^= 0xFF
                out.writestr(n, bytes(blob))
    return target


def test_the_train_split_is_the_sample_folder_and_more(cifar_zip, cifar_sample):
    """The shared 5,000-image sample is the first 500 per class of the zip's train split: the same JPEGs,
    so the zip's decoding must give the sample folder's pixels and labels exactly."""
    from genzoo.core.data import load_folder

    part = load_cifar10_zip(cifar_zip, "train", per_class=500)
    folder = load_folder(cifar_sample, image_size=32, channels=3)
    assert part.images.shape == (5000, 3, 32, 32) and part.classes == CLASSES == folder.classes
    assert torch.equal(part.labels, torch.arange(10).repeat_interleave(500))
    assert torch.equal(part.labels, folder.labels) and torch.equal(part.images, folder.images)
    assert "JPEG re-encoding" in part.origin and cifar_zip.name in part.origin


def test_load_data_cifar10_reads_the_zip_once_then_the_cache(cifar_zip):
    """`--data cifar10` with the zip in the data root: the 10,000 test images, 1,000 per class; the second
    load reads the verified, decoded split from the cache instead of the zip's JPEGs."""
    import genzoo

    t0 = time.perf_counter()
    first = genzoo.load_data("cifar10", image_size=32, channels=3, split="test", root=cifar_zip.parent)
    t1 = time.perf_counter()
    again = genzoo.load_data("cifar10", image_size=32, channels=3, split="test", root=cifar_zip.parent)
    t2 = time.perf_counter()
    assert len(first) == 10_000 and first.labels.bincount().tolist() == [1000] * 10
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert first.origin.startswith(JPEG_ORIGIN.split("(")[0]) and again.origin == first.origin
    assert t2 - t1 < (t1 - t0) / 3, (t1 - t0, t2 - t1)  # no JPEG decoding the second time


def test_the_official_binary_set_wins_over_the_zip(cifar_zip, cifar10_root):
    """Where both are on disk, the official pixels are read, and say so."""
    (cifar10_root / "cifar10-jpg.zip").symlink_to(cifar_zip)
    images = load_cifar10(cifar10_root, "test")
    assert len(images) == 500 and images.origin == OFFICIAL


def test_a_damaged_member_is_named_and_nothing_is_cached(cifar_zip, tmp_path):
    good = small_zip(cifar_zip, tmp_path / "good.zip", 2)
    images = load_cifar10_zip(good, "test", cache_dir=tmp_path / "cache")
    assert images.images.shape == (20, 3, 32, 32) and images.labels.tolist() == [i // 2 for i in range(20)]
    bad = small_zip(cifar_zip, tmp_path / "bad.zip", 2, damage="test/cat/0001.jpg")
    with pytest.raises(DataError, match=r"test/cat/0001\.jpg does not match its SHA256SUMS entry.*Copy it again"):
        load_cifar10_zip(bad, "test", cache_dir=tmp_path / "cache2")
    assert not list((tmp_path / "cache2").glob("*.safetensors"))


def test_a_zip_that_does_not_match_its_checksum_list_is_refused(cifar_zip, tmp_path):
    """Members missing from SHA256SUMS, or listed but absent, are errors naming the member."""
    extra = small_zip(cifar_zip, tmp_path / "extra.zip", 1)
    with zipfile.ZipFile(extra, "a") as z:
        z.writestr("test/cat/9999.jpg", b"not a jpeg")
    with pytest.raises(DataError, match=r"test/cat/9999\.jpg .* is not in SHA256SUMS"):
        load_cifar10_zip(extra, "test", use_cache=False)
    with zipfile.ZipFile(tmp_path / "short.zip", "w") as z:
        z.writestr("SHA256SUMS", f"{hashlib.sha256(b'x').hexdigest()}  test/dog/0000.jpg\n")
    with pytest.raises(DataError, match=r"test/dog/0000\.jpg is listed in SHA256SUMS but missing"):
        load_cifar10_zip(tmp_path / "short.zip", "test", use_cache=False)
    (tmp_path / "trunc.zip").write_bytes(extra.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"trunc\.zip as a zip .*Copy it again"):
        load_cifar10_zip(tmp_path / "trunc.zip", "test", use_cache=False)
