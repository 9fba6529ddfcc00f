"""The command line as a user meets it: every mistake is one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def genzoo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "genzoo.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "dcgna"], "unknown model 'dcgna'. Did you mean: dcgan"),
        (["train", "dcgan-mnist", "--set", "latnt_dim=3"], "--set latnt_dim: dcgan-mnist has no such field"),
        (["train", "dcgan-mnist", "--set", "latent_dim=big"], "dcgan-mnist.latent_dim='big' must be an integer"),
        (["train", "dcgan-mnist", "--set", "train.batch_size=0"], "train.batch_size=0 is not allowed"),
        (["train", "dcgan-mnist", "--set", "nonsense"], "must look like key=value"),
        (["train", "dcgan-mnist", "--data", "/no/such/folder"], "/no/such/folder does not exist"),
        (["train", "dcgan-mnist", "--data", "imagenet"], "unknown dataset 'imagenet'"),
        (["sample", "/no/such/run"], "unknown model '/no/such/run'"),
        (["data", "check", "/no/such/folder"], "is not a folder"),
        (["train", "--resume", "/tmp"], "not a genzoo run"),
    ],
)
def test_mistakes_get_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    out = genzoo(*args, cwd=tmp_path)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_mnist_says_where_it_looked(tmp_path: Path) -> None:
    out = genzoo("train", "dcgan-mnist", "--data-root", str(tmp_path), "--steps", "1", cwd=tmp_path)
    assert out.returncode == 1 and str(tmp_path) in out.stderr and "Traceback" not in out.stderr


def test_unreadable_weights_are_named(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert genzoo("train", "dcgan-mnist", "--data-root", str(data_root), "--steps", "1", "--out", str(run),
                  "--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=8").returncode == 0
    weights = run / "pretrained" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    out = genzoo("sample", str(run), "--out", str(tmp_path / "x.png"))
    assert out.returncode == 1 and "model.safetensors is not a readable safetensors file" in out.stderr


def test_train_then_sample_writes_a_grid(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = genzoo("train", "dcgan-mnist", "--data-root", str(data_root), "--steps", "2", "--out", str(run),
                     "--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=8")
    assert trained.returncode == 0, trained.stderr
    grid = tmp_path / "grid.png"
    sampled = genzoo("sample", str(run), "--n", "16", "--out", str(grid), "--seed", "3")
    assert sampled.returncode == 0, sampled.stderr
    from PIL import Image

    with Image.open(grid) as im:
        assert im.size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 grid of 28px images with 2px padding
    resumed = genzoo("train", "--resume", str(run), "--steps", "3", "--set", "train.log_every=1")
    assert resumed.returncode == 0 and "trained 3 steps" in resumed.stdout
    refused = genzoo("train", "--resume", str(run), "--set", "latent_dim=3")
    assert refused.returncode == 1 and "can only change train.* fields" in refused.stderr


def test_data_check_reports_problems_by_path(cifar_sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    sources = sorted((cifar_sample / "cat").iterdir())[:3]
    for src in sources:
        (folder / src.name).write_bytes(src.read_bytes())
    (folder / "copy.jpg").write_bytes(sources[0].read_bytes())
    (folder / "empty.png").write_bytes(b"")
    out = genzoo("data", "check", str(tmp_path / "imgs"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    flat = json.dumps(report)
    assert "copy.jpg" in flat and "empty.png" in flat


def test_help_lists_commands() -> None:
    out = genzoo("--help")
    for command in ("list", "info", "train", "sample", "plugins", "install", "uninstall", "data", "demo"):
        assert command in out.stdout
