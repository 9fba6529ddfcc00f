"""`genzoo sample --out FILE.npz` and `--out DIR/`: many samples, in batches, as files other tools score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from genzoo.cli import cli


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> str:
    """A dcgan-digits run trained for one step on the bundled digits: fixed weights on disk, in seconds."""
    out = tmp_path_factory.mktemp("sample") / "run"
    result = CliRunner().invoke(cli, ["train", "dcgan-digits", "--steps", "1", "--out", str(out),
                                      "--set", "train.batch_size=8"])
    assert result.exit_code == 0, result.output
    return str(out)


def sample(*args: str):
    return CliRunner().invoke(cli, ["sample", *args])


def test_npz_holds_uint8_nhwc_that_eval_reads_back(run, tmp_path):
    from genzoo.evaluation.evaluate import load_npz

    out = sample(str(run), "--n", "23", "--batch-size", "10", "--out", str(tmp_path / "s.npz"))
    assert out.exit_code == 0, out.output
    with np.load(tmp_path / "s.npz") as f:
        assert list(f.keys()) == ["arr_0"]
        arr = f["arr_0"]
    assert arr.dtype == np.uint8 and arr.shape == (23, 28, 28, 1) and arr.std() > 0
    assert torch.equal(load_npz(tmp_path / "s.npz"), torch.from_numpy(arr).permute(0, 3, 1, 2))
    again = sample(str(run), "--n", "23", "--batch-size", "10", "--out", str(tmp_path / "t.npz"))
    assert again.exit_code == 0 and np.array_equal(np.load(tmp_path / "t.npz")["arr_0"], arr)  # seeded


def test_a_folder_gets_one_png_per_image_with_zero_padded_names(run, tmp_path):
    out = sample(str(run), "--n", "12", "--batch-size", "5", "--out", f"{tmp_path / 'pngs'}/")
    assert out.exit_code == 0, out.output
    files = sorted(p.name for p in (tmp_path / "pngs").iterdir())
    assert files == [f"{i:06d}.png" for i in range(12)]
    npz = sample(str(run), "--n", "12", "--batch-size", "5", "--out", str(tmp_path / "same.npz"))
    assert npz.exit_code == 0
    first = np.asarray(Image.open(tmp_path / "pngs" / "000007.png"))
    assert first.shape == (28, 28) and np.array_equal(first, np.load(tmp_path / "same.npz")["arr_0"][7, ..., 0])


def test_a_folder_with_files_is_never_overwritten_and_png_stays_a_grid(run, tmp_path):
    full = tmp_path / "mine"
    full.mkdir()
    (full / "keep.txt").write_text("a user's file")
    out = sample(str(run), "--n", "4", "--out", str(full))
    assert out.exit_code != 0 and "folder with files in it" in out.output
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    grid = sample(str(run), "--n", "4", "--out", str(tmp_path / "grid.png"))
    assert grid.exit_code == 0, grid.output
    assert Image.open(tmp_path / "grid.png").size == (2 * 30 + 2, 2 * 30 + 2)  # 2 x 2 images, 2 px padding


@pytest.mark.parametrize("suffix", [".bmpx", ".psd"])  # unknown to Pillow; known, but read-only
def test_a_grid_suffix_pillow_cannot_write_is_refused_before_the_model_opens(suffix, tmp_path):
    out = sample("no-such-model", "--n", "4", "--out", str(tmp_path / f"grid{suffix}"))
    assert out.exit_code != 0 and f"{suffix!r} is not an image type Pillow writes" in out.output, out.output
    assert "no-such-model" not in out.output and not list(tmp_path.iterdir())


@pytest.mark.parametrize("out", ["grid.png", "s.npz", "pngs/", ""])  # "": --out notes/, a folder where the file is
def test_an_out_under_a_file_is_refused_before_the_model_opens(out, tmp_path):
    (tmp_path / "notes").write_text("a user's file")
    result = sample("no-such-model", "--n", "4", "--out", f"{tmp_path / 'notes'}/{out}")
    assert result.exit_code != 0 and "notes is a file, not a folder" in result.output, result.output
    assert "no-such-model" not in result.output and (tmp_path / "notes").read_text() == "a user's file"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be created")
@pytest.mark.parametrize("out", ["grid.png", "s.npz", "pngs/"])
def test_an_out_nobody_can_write_is_refused_before_the_model_opens(out):
    """/proc refuses new files even to root, for whom permission bits (os.access) say yes."""
    result = sample("no-such-model", "--n", "4", "--out", f"/proc/{out}")
    assert result.exit_code != 0 and "/proc is not writable" in result.output, result.output
    assert "no-such-model" not in result.output


def test_a_grid_takes_its_format_from_the_suffix_in_any_case(run, tmp_path):
    out = sample(str(run), "--n", "4", "--out", str(tmp_path / "grid.JPG"))
    assert out.exit_code == 0, out.output
    assert Image.open(tmp_path / "grid.JPG").format == "JPEG"
