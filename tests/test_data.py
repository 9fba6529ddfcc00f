"""The data pipeline on real data: MNIST IDX files, CIFAR JPEGs, sklearn digits."""

from __future__ import annotations

import gzip
import io
import multiprocessing as mp
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from cifar_files import write_batch
from PIL import Image

from genzoo.core.data import (
    BatchLoader,
    ImageSet,
    augment,
    cache_key,
    cached,
    denormalize,
    format_images,
    load_cifar10,
    load_digits,
    load_folder,
    load_idx_dataset,
    load_mnist,
    load_unpaired,
    normalize,
    read_cifar_batch,
    read_idx,
)
from genzoo.core.data import folder as folder_module
from genzoo.core.data.cifar import CLASSES, extract_cifar
from genzoo.core.data.transforms import NORMALIZE_MODES
from genzoo.core.errors import DataError
from genzoo.core.preprocessing import Preprocessing

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data"
MNIST = SHARED / "mnist"
CIFAR_SAMPLE = SHARED / "cifar10-sample"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST IDX files not found at {MNIST}")
needs_sample = pytest.mark.skipif(not CIFAR_SAMPLE.is_dir(),
                                  reason=f"CIFAR sample not found at {CIFAR_SAMPLE}")

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _small_folder(dst: Path, classes=("airplane", "cat", "ship"), per_class: int = 8) -> Path:
    for cls in classes:
        (dst / cls).mkdir(parents=True)
        for i in range(per_class):
            shutil.copy(CIFAR_SAMPLE / cls / f"{i:04d}.jpg", dst / cls / f"{i:04d}.jpg")
    return dst


# --- IDX / MNIST ---------------------------------------------------------------------------


@needs_mnist
def test_mnist_idx_shapes_and_label_counts() -> None:
    train, test = load_mnist(SHARED, "train"), load_mnist(MNIST, "test")
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert train.labels.bincount().tolist() == MNIST_TRAIN_COUNTS
    assert test.labels.bincount().tolist() == MNIST_TEST_COUNTS
    assert train.classes == tuple("0123456789") and train.image_size == 28 and train.channels == 1


@needs_mnist
def test_idx_gzip_and_raw_agree(tmp_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(gzip.decompress((MNIST / f"{name}.gz").read_bytes()))
    raw, gz = load_idx_dataset(tmp_path, "test"), load_idx_dataset(MNIST, "test")
    assert torch.equal(raw.images, gz.images) and torch.equal(raw.labels, gz.labels)


@needs_mnist
def test_bad_idx_files_name_the_file(tmp_path: Path) -> None:
    labels = gzip.decompress((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())
    bad_magic = tmp_path / "bad-magic-idx1-ubyte"
    bad_magic.write_bytes(b"\x12\x34" + labels[2:])
    with pytest.raises(DataError, match=r"bad-magic-idx1-ubyte.*not an IDX file"):
        read_idx(bad_magic)
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(labels[:5000])
    with pytest.raises(DataError, match="short-idx1-ubyte is truncated"):
        read_idx(short)
    cut_gz = tmp_path / "cut.gz"
    cut_gz.write_bytes((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(DataError, match=r"cut\.gz"):
        read_idx(cut_gz)


def test_missing_mnist_says_where_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, "train")
    assert str(tmp_path / "mnist") in str(info.value) and "digits" in str(info.value)
    with pytest.raises(DataError, match="Did you mean: train"):
        load_mnist(tmp_path, "trian")


def test_digits_always_available() -> None:
    train, test = load_digits(), load_digits(split="test")
    assert train.images.shape == (1500, 1, 8, 8) and len(test) == 297
    assert int(train.images.max()) == 255 and set(train.labels.tolist()) == set(range(10))
    assert torch.equal(load_digits().images, train.images)


# --- CIFAR-10 binary -----------------------------------------------------------------------


@needs_sample
def test_cifar_binary_round_trip(tmp_path: Path) -> None:
    pictures, labels = [], []
    for label, cls in enumerate(CLASSES):
        for i in range(2):
            pictures.append(np.asarray(Image.open(CIFAR_SAMPLE / cls / f"{i:04d}.jpg").convert("RGB")))
            labels.append(label)
    images = np.stack(pictures).transpose(0, 3, 1, 2).copy()
    labels = np.array(labels, dtype=np.uint8)
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for b in range(5):
        write_batch(folder / f"data_batch_{b + 1}.bin", images[b * 4:(b + 1) * 4], labels[b * 4:(b + 1) * 4])
    write_batch(folder / "test_batch.bin", images[:3], labels[:3])
    train = load_cifar10(tmp_path, "train")
    assert train.images.shape == (20, 3, 32, 32) and train.classes == CLASSES
    assert np.array_equal(train.images.numpy(), images) and train.labels.tolist() == labels.tolist()
    assert len(load_cifar10(tmp_path, "test")) == 3
    (folder / "test_batch.bin").write_bytes((folder / "test_batch.bin").read_bytes()[:-10])
    with pytest.raises(DataError, match=r"test_batch\.bin"):
        read_cifar_batch(folder / "test_batch.bin")


def test_cifar_archive_with_unsafe_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(DataError, match="unsafe member"):
        extract_cifar(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_missing_cifar_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="CIFAR-10 train files not found"):
        load_cifar10(tmp_path, "train")


# --- image folders and the cache -----------------------------------------------------------


@needs_sample
def test_folder_cache_hit_skips_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, cache = _small_folder(tmp_path / "imgs"), tmp_path / "cache"
    first = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    assert first.images.shape == (24, 3, 32, 32) and first.classes == ("airplane", "cat", "ship")
    assert first.labels.tolist() == [0] * 8 + [1] * 8 + [2] * 8
    expected = np.asarray(Image.open(src / "cat" / "0003.jpg").convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(first.images[11].numpy(), expected)
    (entry,) = cache.glob("*.safetensors")
    mtime = entry.stat().st_mtime_ns

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache holds this folder")

    monkeypatch.setattr(folder_module, "decode_files", no_decoding)
    monkeypatch.setattr(folder_module, "scan_folder", no_decoding)
    second = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert entry.stat().st_mtime_ns == mtime and second.report.counts["good"] == 24


@needs_sample
def test_changed_file_or_format_changes_the_key(tmp_path: Path) -> None:
    src, cache = _small_folder(tmp_path / "imgs"), tmp_path / "cache"
    before = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    shutil.copy(CIFAR_SAMPLE / "dog" / "0100.jpg", src / "cat" / "0002.jpg")
    after = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    assert len(list(cache.glob("*.safetensors"))) == 2
    assert not torch.equal(before.images[10], after.images[10])
    assert torch.equal(before.images[0], after.images[0])
    grey = load_folder(src, image_size=16, channels=1, cache_dir=cache)
    assert grey.images.shape == (24, 1, 16, 16) and len(list(cache.glob("*.safetensors"))) == 3
    assert cache_key([("a", "1")], 32, 3, "resize") != cache_key([("a", "2")], 32, 3, "resize")


@needs_sample
def test_corrupted_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    src, cache = _small_folder(tmp_path / "imgs", per_class=4), tmp_path / "cache"
    good = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    (entry,) = cache.glob("*.safetensors")
    for damage in (b"not a safetensors file", entry.read_bytes()[:-100]):
        entry.write_bytes(damage)
        again = load_folder(src, image_size=32, channels=3, cache_dir=cache)
        assert torch.equal(again.images, good.images)
    third = load_folder(src, image_size=32, channels=3, cache_dir=cache)
    assert torch.equal(third.images, good.images)


def _build_concurrently(cache_dir: str, log: str, out: mp.Queue) -> None:
    def build():
        with open(log, "a") as f:
            f.write("built\n")
        time.sleep(0.5)
        return torch.arange(48, dtype=torch.uint8).view(1, 3, 4, 4), torch.tensor([1]), {"who": "builder"}

    entry = cached(cache_dir, "samekey", build)
    out.put((entry.hit, int(entry.images.sum())))


def test_two_processes_build_one_entry(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    log = tmp_path / "builds.txt"
    args = (str(tmp_path / "c"), str(log), out)
    procs = [ctx.Process(target=_build_concurrently, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = sorted(out.get(timeout=5) for _ in procs)
    assert log.read_text() == "built\n"
    assert results == [(False, sum(range(48))), (True, sum(range(48)))]
    assert len(list((tmp_path / "c").glob("*.safetensors"))) == 1


@needs_sample
def test_unpaired_folders(tmp_path: Path) -> None:
    a = _small_folder(tmp_path / "a", classes=("horse",), per_class=5)
    b = _small_folder(tmp_path / "b", classes=("deer",), per_class=7)
    pair = load_unpaired(a / "horse", b / "deer", image_size=16, channels=3, cache_dir=tmp_path / "cache")
    assert pair.images.shape == (5, 3, 16, 16) and pair.images_b.shape == (7, 3, 16, 16)
    assert pair.labels is None


# --- formatting and transforms -------------------------------------------------------------


def test_format_images_pad_resize_and_channels() -> None:
    digits = load_digits()
    padded = format_images(digits, 12, 1, "pad")
    assert torch.equal(padded.images[:, :, 2:10, 2:10], digits.images)
    assert int(padded.images[:, :, :2].max()) == 0
    rgb = format_images(digits, 16, 3, "resize")
    assert rgb.images.shape == (1500, 3, 16, 16) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])
    assert format_images(digits, 4, 1, "center_crop").images.shape == (1500, 1, 4, 4)


@needs_sample
def test_grey_conversion_matches_pil() -> None:
    img = Image.open(CIFAR_SAMPLE / "frog" / "0000.jpg").convert("RGB")
    rgb = torch.from_numpy(np.asarray(img).transpose(2, 0, 1).copy())[None]
    grey = format_images(ImageSet(rgb), 32, 1, "resize").images[0, 0].int()
    assert (grey - torch.from_numpy(np.array(img.convert("L"))).int()).abs().max() <= 1


def test_normalize_ranges_and_exact_round_trip() -> None:
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).repeat(3, 2, 1, 1)
    ranges = {"minus_one_one": (-1, 1), "zero_one": (0, 1), "dequantize": (0, 1), "uint8": (0, 255)}
    for mode in NORMALIZE_MODES:
        y = normalize(x, mode, torch.Generator().manual_seed(0))
        low, high = ranges[mode]
        assert y.dtype == torch.float32 and y.min() >= low and y.max() <= high
        assert torch.equal(denormalize(y, mode), x)
    dq = normalize(x, "dequantize", torch.Generator().manual_seed(0))
    assert dq.max() < 1 and not torch.equal(dq, normalize(x, "dequantize", torch.Generator().manual_seed(1)))
    assert normalize(x, "minus_one_one").min() == -1 and normalize(x, "minus_one_one").max() == 1


def test_augment_reproducible_and_flip_is_a_flip() -> None:
    x = normalize(load_digits().images[:64], "minus_one_one")
    pre = Preprocessing(hflip=True, rotation=15, crop_scale=0.8)
    a = augment(x, pre, torch.Generator().manual_seed(3))
    assert torch.equal(a, augment(x, pre, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, augment(x, pre, torch.Generator().manual_seed(4)))
    assert a.shape == x.shape
    flipped = augment(x, Preprocessing(hflip=True), torch.Generator().manual_seed(0))
    same = (flipped == x).flatten(1).all(1)
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54
    assert augment(x, Preprocessing(), torch.Generator()) is x


# --- BatchLoader ---------------------------------------------------------------------------


def _numbered(n: int) -> ImageSet:
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    return ImageSet(images, torch.arange(n), name="numbered")


def test_batch_is_a_pure_function_of_seed_and_index() -> None:
    data = format_images(load_digits(), 8, 1)
    pre = Preprocessing(normalize="dequantize", hflip=True, rotation=10)
    one, two = BatchLoader(data, pre, 32, seed=7), BatchLoader(data, pre, 32, seed=7)
    for i in (0, 5, 46, 47, 100):
        a, b = one.batch(i), two.batch(i)
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert torch.equal(one.batch(3).images, one.batch(3).images)
    assert not torch.equal(one.batch(3).images, BatchLoader(data, pre, 32, seed=8).batch(3).images)


def test_epochs_cover_every_image_once_in_new_orders() -> None:
    data = _numbered(205)
    loader = BatchLoader(data, Preprocessing(normalize="uint8"), 20, seed=0)
    assert loader.batches_per_epoch == 10
    orders = []
    for epoch in range(2):
        seen = []
        for j in range(10):
            batch = loader.batch(epoch * 10 + j)
            values = batch.images[:, 0, 0, 0].long()
            assert torch.equal(values, batch.labels)
            seen += values.tolist()
        assert len(seen) == 200 and len(set(seen)) == 200
        orders.append(seen)
    assert orders[0] != orders[1]
    last = BatchLoader(data, Preprocessing(normalize="uint8"), 20, seed=0, drop_last=False)
    assert last.batches_per_epoch == 11 and len(last.batch(10)) == 5


def test_unpaired_batches_shuffle_b_on_its_own() -> None:
    a, b = _numbered(40), _numbered(30)
    pair = ImageSet(a.images, None, images_b=b.images.flip(0).contiguous())
    loader = BatchLoader(pair, Preprocessing(normalize="uint8"), 10, seed=1)
    seen_b = []
    for i in range(3):
        batch = loader.batch(i)
        assert batch.images_b.shape == (10, 1, 4, 4) and batch.labels is None
        seen_b += batch.images_b[:, 0, 0, 0].long().tolist()
    assert sorted(seen_b) == list(range(30))
    iterated = [b.images for _, b in zip(range(5), iter(loader))]
    assert torch.equal(iterated[4], loader.batch(4).images)


# --- the built-in datasets plugin ------------------------------------------------------------


def test_builtin_datasets_plugin_registers_resolvable_loaders() -> None:
    import importlib

    from genzoo.plugins import datasets as plugin

    specs = []
    plugin.register_datasets(specs.append)
    assert [s.name for s in specs] == ["mnist", "fashion-mnist", "cifar10", "digits"]
    for spec in specs:
        module, _, func = spec.loader.partition(":")
        assert callable(getattr(importlib.import_module(module), func))
    digits_spec = specs[-1]
    module, _, func = digits_spec.loader.partition(":")
    digits = getattr(importlib.import_module(module), func)(Path("unused"), "test", download=False)
    assert (digits.image_size, digits.channels, len(digits.classes)) == (
        digits_spec.image_size, digits_spec.channels, digits_spec.classes)
