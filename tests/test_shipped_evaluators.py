"""The evaluators shipped inside the package: `--features lenet-mnist` / `resnet-cifar10` mean the same
weights on every install, offline, with no training; a user's own evaluator is used only when asked for."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner
from conftest import SHARED_DATA

from genzoo.cli import cli
from genzoo.core.atomic import sha256_file
from genzoo.core.errors import GenzooError
from genzoo.core.metrics.extractors import evaluator as ev
from genzoo.core.metrics.extractors.base import extract

MANIFEST = ev.shipped_manifest()
MIN_ACCURACY = {"lenet-mnist": 0.99, "resnet-cifar10": 0.90}
"""What each shipped file must reach (the goals their issue set): a wrong or placeholder file fails."""


def test_the_manifest_names_every_shipped_file_with_its_provenance():
    assert "lenet-mnist" in MANIFEST
    for name, e in MANIFEST.items():
        weights = ev.SHIPPED_DIR / e["file"]
        assert sha256_file(weights) == e["sha256"], name
        cfg = json.loads((weights.parent / ev.CONFIG).read_text())
        assert cfg["weights_sha256"] == e["weights_sha256"] and cfg["test_accuracy"] == e["test_accuracy"]
        assert e["test_accuracy"] >= MIN_ACCURACY[name] and e["test_images"] == 10_000
        assert f"genzoo evaluator train {e['dataset']}" in e["command"] and e["date"] and e["data"]
        if e["dataset"] == "cifar10":
            assert "JPEG re-encoding" in e["data"] and "JPEG re-encoding" in cfg["data_origin"]


def test_shipped_weights_load_offline_and_name_themselves_in_the_protocol(monkeypatch, tmp_path):
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "empty"))  # a fresh install: nothing trained, no network
    from genzoo.evaluation.evaluate import build_extractor

    ex = build_extractor("lenet-mnist")
    assert ex.shipped and ex.weights_sha256 == MANIFEST["lenet-mnist"]["weights_sha256"]
    assert ex.describe(1)["extractor"] == "lenet-mnist"
    assert ex.describe(1)["extractor_sha256"] == MANIFEST["lenet-mnist"]["weights_sha256"]


def test_shipped_lenet_reads_real_mnist(data_root):
    """Trained weights, not a placeholder: the first 2,000 MNIST test digits are read at its accuracy."""
    import genzoo

    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root)
    _, logits = extract(ev.load_evaluator("lenet-mnist"), test.images[:2000], batch_size=500)
    assert (logits.argmax(1) == test.labels[:2000]).float().mean() >= 0.985


@pytest.mark.skipif("resnet-cifar10" not in MANIFEST, reason="the CIFAR-10 evaluator is not shipped yet")
def test_shipped_resnet_reads_real_cifar10():
    zip_path = SHARED_DATA / "cifar10-jpg.zip"
    if not zip_path.is_file():
        pytest.skip(f"the CIFAR-10 JPEG zip is not at {zip_path}")
    from genzoo.core.data.cifar import load_cifar10_zip

    test = load_cifar10_zip(zip_path, "test", per_class=50)
    _, logits = extract(ev.load_evaluator("resnet-cifar10"), test.images, batch_size=250)
    assert (logits.argmax(1) == test.labels).float().mean() >= 0.85


def test_a_users_evaluator_is_used_only_when_asked_for(data_root, monkeypatch, tmp_path):
    """`genzoo evaluator train mnist` writes the user's own LeNet; the plain name still means the shipped one,
    `local:lenet-mnist` (or the folder) the user's, under a protocol name that says so."""
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "cache"))
    out = CliRunner().invoke(cli, ["evaluator", "train", "mnist", "--steps", "5", "--limit", "640",
                                   "--data-root", str(data_root)])
    assert out.exit_code == 0, out.output
    assert "--features local:lenet-mnist (plain lenet-mnist means the shipped weights)" in out.output
    mine = json.loads((ev.evaluators_dir() / "lenet-mnist" / ev.CONFIG).read_text())["weights_sha256"]
    assert ev.load_evaluator("lenet-mnist").weights_sha256 == MANIFEST["lenet-mnist"]["weights_sha256"] != mine
    local = ev.load_evaluator("local:lenet-mnist")
    assert local.weights_sha256 == mine and local.describe(1)["extractor"] == "local:lenet-mnist"
    assert ev.load_evaluator("x", weights=str(ev.evaluators_dir() / "lenet-mnist")).weights_sha256 == mine


def test_damaged_shipped_weights_are_refused(monkeypatch, tmp_path):
    copy = tmp_path / "weights"
    shutil.copytree(ev.SHIPPED_DIR, copy)
    blob = bytearray((copy / MANIFEST["lenet-mnist"]["file"]).read_bytes())
    blob[-1] ^= 1
    (copy / MANIFEST["lenet-mnist"]["file"]).write_bytes(bytes(blob))
    monkeypatch.setattr(ev, "SHIPPED_DIR", copy)
    with pytest.raises(GenzooError, match="do not match their sha256.*reinstall genzoo"):
        ev.load_evaluator("lenet-mnist")


def test_reference_statistics_are_computed_once_per_pixels_and_weights(data_root, monkeypatch, tmp_path):
    """MNIST test under the shipped LeNet: the first evaluation extracts and caches the real side, the second
    reads it; other pixels (the train split) are another entry, never a stale hit."""
    import genzoo
    from genzoo.core.metrics.context import EvalContext, EvalOptions

    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "cache"))
    lenet = ev.load_evaluator("lenet-mnist")

    def stats(split: str, n: int):
        real = genzoo.load_data("mnist", image_size=28, channels=1, split=split, root=data_root).images[:n]
        ctx = EvalContext(real=real, extractor=lenet, real_data="mnist", real_split=split,
                          options=EvalOptions(batch_size=1000))
        return ctx.real_stats()

    first, again, train = stats("test", 5000), stats("test", 5000), stats("train", 1000)
    assert not first.from_cache and again.from_cache and first.key == again.key
    assert torch.equal(first.gaussian.mu, again.gaussian.mu) and first.features.shape == (5000, 128)
    assert not train.from_cache and train.key != first.key


def test_an_interrupted_evaluator_training_resumes_to_the_same_weights(tmp_path):
    """Two epochs in one go, and one epoch then a second run from the checkpoint, give equal weights."""
    import genzoo

    digits = genzoo.load_data("digits", image_size=28, channels=1, split="train")
    test = genzoo.load_data("digits", image_size=28, channels=1, split="test")
    recipe = ev.EvaluatorRecipe(arch="lenet", width=16, epochs=2, batch_size=256, crop=2, seed=3)
    args = (digits.images, digits.labels, test.images, test.labels)
    whole, _ = ev.train_evaluator(*args, classes=10, name="t", recipe=recipe)
    ckpt = tmp_path / "t.checkpoint.safetensors"
    ev.train_evaluator(*args, classes=10, name="t", recipe=ev.EvaluatorRecipe(**{**recipe.__dict__, "steps": 5}),
                       checkpoint=ckpt)  # one epoch of 5 steps, then "interrupted"
    with pytest.raises(GenzooError, match="checkpoint of another evaluator training"):
        ev.train_evaluator(*args, classes=10, name="t", recipe=recipe, checkpoint=ckpt)
    ckpt.unlink()
    epochs = []

    def stop(r):  # the run is interrupted right after epoch 1's checkpoint
        epochs.append(r["epoch"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ev.train_evaluator(*args, classes=10, name="t", recipe=recipe, checkpoint=ckpt, on_epoch=stop)
    resumed, record = ev.train_evaluator(*args, classes=10, name="t", recipe=recipe, checkpoint=ckpt,
                                         on_epoch=lambda r: epochs.append(r["epoch"]))
    assert epochs == [1, 2] and [h["epoch"] for h in record["history"]] == [1, 2]
    assert ev.state_dict_sha256(resumed.state_dict()) == ev.state_dict_sha256(whole.state_dict())



def test_the_logit_scale_is_folded_into_the_saved_network(tmp_path):
    """A recipe's logit scale shapes training only: the network it returns carries it in its last layer, so its
    logits (the Inception-Score analogue's class probabilities) are the ones it was trained on."""
    import genzoo
    from genzoo.core.tensorfile import load_tensors

    digits = genzoo.load_data("digits", image_size=28, channels=1, split="train")
    test = genzoo.load_data("digits", image_size=28, channels=1, split="test")
    recipe = ev.EvaluatorRecipe(arch="lenet", width=16, epochs=1, batch_size=256, logit_scale=0.25, seed=1)
    ckpt = tmp_path / "t.checkpoint.safetensors"  # the weights as trained, before the fold
    model, record = ev.train_evaluator(digits.images, digits.labels, test.images, test.labels, classes=10,
                                       name="t", recipe=recipe, checkpoint=ckpt)
    trained, _ = load_tensors(ckpt)
    fc2 = {k.split("model.", 1)[1]: v for k, v in trained.items() if k.startswith("model.") and ".fc2." in k}
    assert fc2 and torch.equal(model.net.fc2.weight, fc2["net.fc2.weight"] * 0.25)
    assert torch.equal(model.net.fc2.bias, fc2["net.fc2.bias"] * 0.25)
    assert record["recipe"]["logit_scale"] == 0.25
    with pytest.raises(GenzooError, match="logit_scale must be positive"):
        ev.EvaluatorRecipe(logit_scale=0).check()


def test_an_evaluator_saved_in_float16_is_the_rounded_network(tmp_path):
    """Shipped weights may be stored in half precision (tools/ship_evaluator.py --float16): the file holds
    float16, the config's digest and accuracy are those of the rounded network, and it loads and runs in
    float32 with exactly the rounded weights."""
    import genzoo
    from genzoo.core.tensorfile import load_tensors

    digits = genzoo.load_data("digits", image_size=28, channels=1, split="train")
    test = genzoo.load_data("digits", image_size=28, channels=1, split="test")
    recipe = ev.EvaluatorRecipe(arch="lenet", width=16, epochs=1, batch_size=256, seed=2)
    model, record = ev.train_evaluator(digits.images, digits.labels, test.images, test.labels, classes=10,
                                       name="t", recipe=recipe)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    acc = ev.half_precision_weights(model, test.images, test.labels)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it did round
    folder = ev.save_evaluator(model, tmp_path / "t", dataset="digits", classes=tuple("0123456789"),
                               record={**record, "test_accuracy": acc}, float16=True)
    stored, _ = load_tensors(folder / ev.WEIGHTS)
    assert {v.dtype for k, v in stored.items() if "num_batches" not in k} == {torch.float16}
    loaded = ev.load_evaluator(str(folder))
    assert loaded.weights_sha256 == json.loads((folder / ev.CONFIG).read_text())["weights_sha256"]
    assert all(v.dtype != torch.float16 for v in loaded.state_dict().values())
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert ev.accuracy(loaded, test.images, test.labels) == acc
