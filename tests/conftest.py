"""Shared fixtures: where the real test data lives, and an offline, isolated environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENZOO_TEST_DATA") or ROOT.parent / "shared" / "data")


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process: the test networks are tiny, where a second intra-op
    thread only adds synchronisation, and `make test` runs one xdist worker per core."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _offline_isolated(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test touches the network or the user's cache."""
    os.environ["GENZOO_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GENZOO_CACHE"] = str(tmp_path_factory.mktemp("genzoo-cache"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data root holding mnist/ (IDX files) and cifar10-sample/."""
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST IDX files are not at {SHARED_DATA}/mnist (see ../shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cifar_sample() -> Path:
    path = SHARED_DATA / "cifar10-sample"
    if not path.is_dir():
        pytest.skip(f"the CIFAR-10 sample image folder is not at {path}")
    return path


@pytest.fixture(scope="session")
def cifar10_root(cifar_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with CIFAR-10 binary batches made from the sample's real images: 1,000 train, 500 test."""
    from cifar_files import cifar10_root_from_sample

    return cifar10_root_from_sample(cifar_sample, tmp_path_factory.mktemp("cifar10-root"), 100, 50)


@pytest.fixture(scope="session")
def digits_evaluator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A (barely: 3 steps) trained LeNet evaluator folder for digits, for the suites the bench tests score with."""
    import genzoo
    from genzoo.core.metrics.extractors.evaluator import save_evaluator, train_evaluator

    train = genzoo.load_data("digits", image_size=28, channels=1, split="train")
    test = genzoo.load_data("digits", image_size=28, channels=1, split="test")
    model, record = train_evaluator(train.images, train.labels, test.images[:64], test.labels[:64], arch="lenet",
                                    classes=10, name="lenet-digits", steps=3, batch_size=32)
    return save_evaluator(model, tmp_path_factory.mktemp("digits-evaluator") / "evaluator", dataset="digits",
                          classes=tuple(train.classes), record=record)


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh cache, and the network (here: a hub folder or the local hub server) allowed for one test."""
    monkeypatch.setenv("GENZOO_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path
