"""Pretrained folders: what save_pretrained writes, and the checks load_weights makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import genzoo
from genzoo.core.errors import GenzooError
from genzoo.core.pretrained import load_weights, save_pretrained

SMALL = {"g_width": 8, "d_width": 8, "latent_dim": 8}


def test_round_trip_keeps_every_tensor_and_writes_a_card(tmp_path: Path) -> None:
    model = genzoo.create_model("dcgan-mnist", **SMALL)
    ema = {k: v + 1 for k, v in model.state_dict().items() if k.startswith("generator.")}
    save_pretrained(model, tmp_path / "m", ema=ema, samples=model.sample(4))
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["name"] == "dcgan-mnist" and config["config"]["g_width"] == 8 and config["variants"] == ["ema"]
    card = (tmp_path / "m" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: \"genzoo\"") and "![samples](samples.png)" in card

    raw = genzoo.create_model(str(tmp_path / "m"), variant="raw")
    averaged = genzoo.create_model(str(tmp_path / "m"))  # default: EMA where present
    for k, v in model.state_dict().items():
        assert torch.equal(raw.state_dict()[k], v)
        assert torch.equal(averaged.state_dict()[k], ema.get(k, v))


def test_mismatched_weights_list_what_is_missing_unexpected_or_misshapen(tmp_path: Path) -> None:
    save_pretrained(genzoo.create_model("dcgan-mnist", **SMALL), tmp_path / "m")
    wider = genzoo.create_model("dcgan-mnist", **{**SMALL, "g_width": 16})
    with pytest.raises(GenzooError, match=r"does not match the model's config \(wrong shape: generator.net.0.weight"):
        load_weights(wider, tmp_path / "m")
    other = genzoo.create_model("dcgan-cifar10", **SMALL)  # 32px: one more stage
    with pytest.raises(GenzooError, match="missing: .*unexpected: "):
        load_weights(other, tmp_path / "m")
    with pytest.raises(GenzooError, match="has no EMA weights"):
        load_weights(genzoo.create_model("dcgan-mnist", **SMALL), tmp_path / "m", variant="ema")


def test_saving_over_a_folder_replaces_it_whole(tmp_path: Path) -> None:
    target = tmp_path / "m"
    save_pretrained(genzoo.create_model("dcgan-mnist", **SMALL), target, ema={})
    (target / "stale.txt").write_text("left from an older save")
    save_pretrained(genzoo.create_model("dcgan-mnist", **SMALL), target)
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folders left behind


def test_folders_never_unpickle(tmp_path: Path) -> None:
    save_pretrained(genzoo.create_model("dcgan-mnist", **SMALL), tmp_path / "m")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.write_text, (marker, "x"))

    torch.save({"x": Evil()}, tmp_path / "m" / "model.safetensors")  # a pickle where safetensors belongs
    with pytest.raises(GenzooError, match="not a readable safetensors file"):
        genzoo.create_model(str(tmp_path / "m"))
    assert not marker.exists()


def test_a_model_built_from_its_class_saves_and_its_card_names_the_folder(tmp_path: Path) -> None:
    """No preprocessing attached (meta.preprocessing None): config.json has no preprocessing key, and the
    card's usage snippet loads the folder by its absolute path, never a placeholder."""
    from genzoo.plugins.dcgan.config import DCGANConfig
    from genzoo.plugins.dcgan.model import DCGAN

    model = DCGAN(DCGANConfig(**SMALL))
    assert model.meta.preprocessing is None
    save_pretrained(model, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert "preprocessing" not in config and "provenance" not in config and config["config"]["g_width"] == 8
    card = (tmp_path / "m" / "README.md").read_text()
    assert f"genzoo.create_model({json.dumps(str((tmp_path / 'm').resolve()))})" in card
    assert "PATH_OR_HUB_ID" not in card and "pretrained=True" not in card and "## How it was made" not in card


def test_folders_from_before_provenance_still_load(tmp_path: Path) -> None:
    """A folder whose config.json predates provenance, preprocessing, data and tags (and whose card had
    the placeholder snippet) loads, with the registered preprocessing and empty provenance."""
    model = genzoo.create_model("dcgan-mnist", **SMALL)
    save_pretrained(model, tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    config = json.loads(path.read_text())
    for key in ("preprocessing", "provenance", "data", "description", "tags", "eval_scores", "eval_results"):
        config.pop(key, None)
    path.write_text(json.dumps(config))
    (tmp_path / "old" / "README.md").write_text('model = genzoo.create_model("PATH_OR_HUB_ID", pretrained=True)\n')
    loaded = genzoo.create_model(str(tmp_path / "old"))
    assert loaded.meta.provenance == {} and loaded.preprocessing == model.preprocessing
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
