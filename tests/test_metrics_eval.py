"""The evaluation faces: train an evaluator, then `genzoo eval` images against MNIST with protocols."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from genzoo.cli import cli


@pytest.fixture(scope="module")
def evaluator(data_root, tmp_path_factory):
    """A LeNet trained for a few steps on 2,000 MNIST images, into this session's GENZOO_CACHE."""
    result = CliRunner().invoke(cli, ["evaluator", "train", "mnist", "--steps", "60", "--limit", "2000",
                                      "--batch-size", "64", "--data-root", str(data_root)])
    assert result.exit_code == 0, result.output
    return result.output


def test_evaluator_trains_above_chance(evaluator):
    from genzoo.core.metrics.extractors.evaluator import evaluators_dir, load_evaluator

    acc = float(evaluator.split("test accuracy ")[1].split()[0])
    assert acc > 0.5, evaluator  # 10 classes: chance is 0.1
    folder = evaluators_dir() / "lenet-mnist"
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["test_accuracy"] == pytest.approx(acc, abs=1e-4) and cfg["feature_dim"] == 128
    assert f"{acc:.4f}" in (folder / "README.md").read_text()
    ex = load_evaluator("local:lenet-mnist")  # the plain name means the weights shipped with genzoo
    assert ex.weights_sha256 == cfg["weights_sha256"] and ex.name == "local:lenet-mnist"


def _npz(path, images: torch.Tensor) -> str:
    np.savez(path, images=images.permute(0, 2, 3, 1).numpy())  # NHWC, as most tools write them
    return str(path)


def test_eval_cli_scores_with_protocols_and_cache(evaluator, data_root, tmp_path):
    import genzoo

    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root).images
    clean = _npz(tmp_path / "clean.npz", test[-400:])  # other test images than the real subset (mostly)
    noisy = test[-400:].float() + torch.randn(400, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 0.3 * 255
    noisy = _npz(tmp_path / "noisy.npz", noisy.clamp(0, 255).round().to(torch.uint8))
    runner = CliRunner()
    args = ["--data", "mnist", "--n", "400", "--metrics", "fid,kid,pr,dc,is", "--kid-subsets", "5",
            "--kid-subset-size", "200", "--data-root", str(data_root)]
    out1, out2 = tmp_path / "clean.json", tmp_path / "noisy.json"
    from genzoo.core.metrics.stats_cache import default_stats_dir

    def cached_stats() -> int:
        return len(list(default_stats_dir().glob("*.safetensors")))

    before = cached_stats()
    r1 = runner.invoke(cli, ["eval", clean, *args, "--out", str(out1)])
    assert r1.exit_code == 0, r1.output
    assert cached_stats() == before + 2  # the real statistics, and the real side of the pairwise sweep
    r2 = runner.invoke(cli, ["eval", noisy, *args, "--out", str(out2)])
    assert r2.exit_code == 0, r2.output
    a = {s["name"]: s for s in json.loads(out1.read_text())["scores"]}
    b = {s["name"]: s for s in json.loads(out2.read_text())["scores"]}
    assert set(a) == {"fid", "kid", "precision", "recall", "f1", "density", "coverage", "is"}
    assert b["fid"]["value"] > 3 * a["fid"]["value"] and b["kid"]["value"] > a["kid"]["value"]
    assert a["is"]["value"] > 2  # a classifier above chance is confident on real digits
    assert all(0 <= a[k]["value"] <= 1 for k in ("precision", "recall", "f1", "coverage"))
    p = a["kid"]["protocol"]
    assert p["extractor"] == "lenet-mnist" and len(p["extractor_sha256"]) == 64 and p["channels"] == "gray"
    assert (p["n_real"], p["n_fake"], p["real_split"]) == (400, 400, "test")
    assert p["params"]["subsets"] == 5 and p["params"]["subset_size"] == 200
    # both were cached by the first run and reused by the second
    assert cached_stats() == before + 2


def test_eval_errors_are_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["eval", str(tmp_path / "missing.npz"), "--metrics", "fid"])
    assert r.exit_code != 0 and "does not exist" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["eval", str(tmp_path / "x.npz"), "--metrics", "fdi"])
    assert r.exit_code != 0 and "unknown metric 'fdi'" in r.output and "fid" in r.output
    r = runner.invoke(cli, ["eval", "x.npz", "--features", "timm:resnet18", "--features-weights",
                            str(tmp_path / "nope.pth"), "--metrics", "fid"])
    assert r.exit_code != 0


def test_training_evaluator_and_model_card(evaluator, data_root, tmp_path):
    """The trainer's eval hook gives repeatable numbers; `eval --card` puts them in the model card."""
    import genzoo
    from genzoo.core.pretrained import save_pretrained
    from genzoo.evaluation.during_training import training_evaluator

    torch.manual_seed(0)
    model = genzoo.create_model("dcgan-mnist").eval()
    hook = training_evaluator("mnist", metrics="fid,kid", n=200, data_root=data_root, kid_subsets=3)
    first, second = hook(model), hook(model)
    assert [s.name for s in first] == ["fid", "kid"] and first[0].value > 0 and first == second
    kid = dict(first[1].protocol.params)
    assert first[0].protocol.n_fake == 200 and (kid["subsets"], kid["subset_size"]) == (3, 200)
    folder = save_pretrained(model, tmp_path / "pre")
    r = CliRunner().invoke(cli, ["eval", str(folder), "--data", "mnist", "--n", "200", "--metrics", "fid",
                                 "--data-root", str(data_root), "--card"])
    assert r.exit_code == 0, r.output
    card = (folder / "README.md").read_text()
    assert "model-index:" in card and '"type": "fid"' in card and '"extractor": "lenet-mnist"' in card
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["eval_scores"][0]["protocol"]["n_fake"] == 200
    assert genzoo.create_model(str(folder)) is not None  # the folder still loads


def _card_scores(folder) -> tuple[dict, dict]:
    """(config.json's eval_scores by name, the card's model-index metrics by type)."""
    cfg = {e["name"]: e for e in json.loads((folder / "config.json").read_text())["eval_scores"]}
    header = (folder / "README.md").read_text().split("---")[1]
    index = json.loads(next(line for line in header.splitlines() if line.startswith("model-index: "))[13:])
    card = {m["type"]: m for m in index[0]["results"][0]["metrics"]}
    assert index[0]["results"][0]["dataset"] == {"name": "mnist", "type": "mnist", "split": "test"}
    return cfg, card


def test_train_evaluates_every_k_steps_and_records_the_final_scores(evaluator, data_root, tmp_path):
    """`genzoo train --eval-every K` logs eval.<metric> from the zoo evaluator at steps K, 2K, ...; the final
    weights' scores land in pretrained/config.json and the model card with their protocol, equal to what
    `genzoo eval --card` measures; a resumed run records its own final scores."""
    from genzoo.core.metrics.extractors.evaluator import load_evaluator

    run, runner = tmp_path / "run", CliRunner()
    result = runner.invoke(cli, [
        "train", "dcgan-mnist", "--data-root", str(data_root), "--steps", "4", "--out", str(run),
        "--eval-every", "2", "--eval-metrics", "fid,kid", "--eval-n", "100",
        "--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=16", "--set", "train.log_every=2",
    ])
    assert result.exit_code == 0, result.output
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [(e["step"], e["eval.fid"]) for e in logs if "eval.fid" in e]
    assert [s for s, _ in evals] == [2, 4] and all(v > 0 for _, v in evals)  # step 4's is the final one too
    assert json.loads((run / "run.json").read_text())["eval"]["n"] == 100
    assert f"fid={evals[-1][1]:.4g}" in result.output

    cfg, card = _card_scores(run / "pretrained")
    assert set(cfg) == {"fid", "kid"} == set(card) and cfg["fid"]["value"] == evals[-1][1] == card["fid"]["value"]
    sha = load_evaluator("lenet-mnist").weights_sha256
    for p in [cfg["fid"]["protocol"], cfg["kid"]["protocol"], card["fid"]["args"]]:
        assert (p["extractor"], p["extractor_sha256"], p["n_fake"], p["n_real"]) == ("lenet-mnist", sha, 100, 100)
        assert (p["real_data"], p["real_split"], p["seed"]) == ("mnist", "test", 2020)
    assert cfg["kid"]["protocol"]["params"]["subsets"] == 20 and "std" in cfg["kid"]

    # resumed to a step that is not an evaluation step: the final weights are scored once more
    result = runner.invoke(cli, ["train", "--resume", str(run), "--steps", "5"])
    assert result.exit_code == 0, result.output
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    final = [e for e in logs if "eval.fid" in e][-1]
    assert final["step"] == 5
    cfg, card = _card_scores(run / "pretrained")
    assert cfg["fid"]["value"] == final["eval.fid"] == card["fid"]["value"] and cfg["kid"]["value"] == final["eval.kid"]
    provenance = json.loads((run / "pretrained" / "config.json").read_text())["provenance"]
    assert provenance["steps"] == 5 and provenance["data"]["name"] == "mnist" and provenance["command"]
    assert "| Steps | 5 |" in (run / "pretrained" / "README.md").read_text()

    # `genzoo eval` under the same protocol measures the same number and replaces it in the card
    r = runner.invoke(cli, ["eval", str(run), "--data", "mnist", "--n", "100", "--metrics", "fid",
                            "--data-root", str(data_root), "--card", "--json"])
    assert r.exit_code == 0, r.output
    cfg_after, _ = _card_scores(run / "pretrained")
    assert len(json.loads((run / "pretrained" / "config.json").read_text())["eval_scores"]) == 2
    assert cfg_after["fid"]["value"] == pytest.approx(final["eval.fid"], rel=1e-4)
    assert cfg_after["kid"] == cfg["kid"]
