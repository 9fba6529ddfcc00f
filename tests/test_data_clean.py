"""Folder scanning on real images seeded with every kind of broken file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from genzoo.core.data.clean import scan_folder
from genzoo.core.errors import DataError

CIFAR_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10-sample"
needs_sample = pytest.mark.skipif(not CIFAR_SAMPLE.is_dir(),
                                  reason=f"CIFAR sample not found at {CIFAR_SAMPLE}")


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Two classes of real CIFAR JPEGs plus one file of each problem kind."""
    root = tmp_path / "messy"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            shutil.copy(CIFAR_SAMPLE / cls / f"{i:04d}.jpg", root / cls / f"{i:04d}.jpg")
    real = (CIFAR_SAMPLE / "cat" / "0010.jpg").read_bytes()
    (root / "cat" / "empty.jpg").write_bytes(b"")
    (root / "cat" / "notes.png").write_text("this is text, not a picture\n")
    (root / "dog" / "half.jpg").write_bytes(real[: len(real) // 2])
    (root / "dog" / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    Image.open(CIFAR_SAMPLE / "dog" / "0010.jpg").convert("CMYK").save(root / "dog" / "cmyk.jpg")
    shutil.copy(root / "cat" / "0001.jpg", root / "dog" / "zz_copy.jpg")
    (root / "cat" / ".hidden.jpg").write_bytes(b"")
    return root


@needs_sample
def test_each_problem_reported_with_its_path_and_files_untouched(messy: Path) -> None:
    before = _snapshot(messy)
    report = scan_folder(messy)
    assert _snapshot(messy) == before
    found = {kind: [p.relative_to(messy).as_posix() for p, _ in items]
             for kind, items in report.problems.items()}
    assert found == {
        "zero_byte": ["cat/empty.jpg"],
        "non_image": ["cat/notes.png"],
        "corrupt": ["dog/garbage.png"],
        "truncated": ["dog/half.jpg"],
        "unexpected_mode": ["dog/cmyk.jpg"],
        "duplicate": ["dog/zz_copy.jpg"],
    }
    assert "cat/0001.jpg" in report.problems["duplicate"][0][1]
    assert "CMYK" in report.problems["unexpected_mode"][0][1]
    assert report.classes == ("cat", "dog")
    assert [p.relative_to(messy).as_posix() for p in report.good] == (
        [f"cat/{i:04d}.jpg" for i in range(4)] + [f"dog/{i:04d}.jpg" for i in range(4)])
    assert report.labels == [0] * 4 + [1] * 4
    counts = report.counts
    assert counts["good"] == 8 and counts["scanned"] == 14
    assert all(counts[k] == 1 for k in found)
    text = report.format()
    for kind, paths in found.items():
        assert kind.replace("_", "-") in text and paths[0] in text
    assert "8 of 14 files usable" in report.summary()
    assert json.loads(json.dumps(report.to_dict()))["counts"]["duplicate"] == 1


@needs_sample
def test_long_lists_are_truncated_and_flat_folder_is_unlabeled(tmp_path: Path) -> None:
    for i in range(15):
        (tmp_path / f"e{i:02d}.png").write_bytes(b"")
    shutil.copy(CIFAR_SAMPLE / "cat" / "0000.jpg", tmp_path / "a.jpg")
    report = scan_folder(tmp_path)
    assert report.labels is None and report.classes == ()
    assert len(report.good) == 1
    assert "... and 5 more" in report.format(max_paths=10)


@needs_sample
def test_files_beside_class_folders_are_reported(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    shutil.copy(CIFAR_SAMPLE / "cat" / "0000.jpg", tmp_path / "cat" / "a.jpg")
    shutil.copy(CIFAR_SAMPLE / "dog" / "0000.jpg", tmp_path / "stray.jpg")
    report = scan_folder(tmp_path)
    assert [p.name for p, _ in report.problems["outside_classes"]] == ["stray.jpg"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        scan_folder(tmp_path / "nope")
