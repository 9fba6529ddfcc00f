"""``genzoo score``: per-image anomaly scores as CSV, end to end through the CLI."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from click.testing import CliRunner
from flow_helpers import dequantized, train_tiny

import genzoo
from genzoo.cli import cli


@pytest.fixture(scope="module")
def flow_run(data_root, tmp_path_factory):
    cfg = {"image_size": 8, "levels": 1, "steps": 2, "hidden": 8}
    return train_tiny("glow", cfg, tmp_path_factory.mktemp("score") / "glow", data_root, 5, batch_size=16).run_dir


def read_scores(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# score = negative log-likelihood in nats"), lines[0]
    assert "higher = more anomalous" in lines[0]
    rows = list(csv.DictReader(lines[1:]))
    return lines[1], rows


def test_scores_a_dataset_split_as_negative_log_likelihood(flow_run, data_root, tmp_path) -> None:
    out = tmp_path / "scores.csv"
    args = ["score", str(flow_run), "mnist", "--split", "test", "--n", "40", "--out", str(out),
            "--data-root", str(data_root)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "scored 40 images" in result.output and "bits/dim" in result.output
    header, rows = read_scores(out)
    assert header == "index,label,score" and len(rows) == 40
    test = genzoo.load_data("mnist", image_size=8, channels=1, split="test", root=data_root)
    assert [r["label"] for r in rows] == [str(v) for v in test.labels[:40].tolist()]
    scores = torch.tensor([float(r["score"]) for r in rows], dtype=torch.float64)
    model = genzoo.create_model(str(flow_run))
    with torch.no_grad():  # same images, same seeded dequantisation noise (seed 0), one batch
        expected = -model.log_prob(dequantized(test.images[:40], seed=0)).double()
    torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-3)
    assert (scores > 0).all()  # -log P of a discrete image is positive

    again = tmp_path / "again.csv"
    assert CliRunner().invoke(cli, [*args[:-4], "--out", str(again), "--data-root", str(data_root)]).exit_code == 0
    assert again.read_text() == out.read_text()  # fixed-seed noise: the same scores every run


def test_scores_an_image_folder_with_paths_and_labels(flow_run, data_root, tmp_path) -> None:
    from PIL import Image

    digits = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root)
    for i in range(4):
        folder = tmp_path / "imgs" / ("odd" if digits.labels[i] % 2 else "even")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digits.images[i, 0].numpy()).save(folder / f"digit{i}.png")
    out = tmp_path / "folder.csv"
    result = CliRunner().invoke(cli, ["score", str(flow_run), str(tmp_path / "imgs"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    header, rows = read_scores(out)
    assert header == "path,label,score" and len(rows) == 4
    for r in rows:
        assert r["path"].endswith(".png") and r["path"].split("/")[0] == r["label"]
        assert math.isfinite(float(r["score"]))


def test_refuses_a_model_that_can_neither_score_nor_reconstruct(data_root, tmp_path) -> None:
    run = genzoo.train("dcgan", "mnist", steps=1, out=tmp_path / "gan", data_root=data_root, progress=False,
                       config={"image_size": 28, "g_width": 8, "d_width": 8, "latent_dim": 8},
                       train={"batch_size": 8, "sample_grid": 4, "device": "cpu"})
    out = tmp_path / "never.csv"
    result = CliRunner().invoke(cli, ["score", str(run.run_dir), "mnist", "--n", "4", "--out", str(out),
                                      "--data-root", str(data_root)])
    assert result.exit_code != 0
    assert "dcgan has no log_prob and no reconstruct" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_arguments_are_one_line_errors(flow_run, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["score", str(flow_run), str(tmp_path / "missing"), "--out",
                                      str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "does not exist" in result.output
    result = CliRunner().invoke(cli, ["score", str(flow_run), "mnist", "--n", "0"])
    assert result.exit_code != 0 and "--n must be at least 1" in result.output
