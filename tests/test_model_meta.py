"""A model's metadata is typed, and its preprocessing is never guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import genzoo
from genzoo.core.errors import CapabilityError, ConfigError
from genzoo.core.model import ModelMeta
from genzoo.plugins.dcgan.config import DCGANConfig
from genzoo.plugins.dcgan.model import DCGAN

SMALL = {"image_size": 28, "g_width": 8, "d_width": 8, "latent_dim": 8}


def test_create_model_attaches_typed_metadata() -> None:
    model = genzoo.create_model("vae-mnist")
    assert isinstance(model.meta, ModelMeta)
    assert (model.meta.name, model.meta.family, model.meta.plugin) == ("vae-mnist", "vae", "vae")
    assert model.preprocessing.normalize == "zero_one"


def test_a_model_built_from_its_class_says_it_has_no_preprocessing() -> None:
    model = DCGAN(DCGANConfig(**SMALL))
    with pytest.raises(ConfigError, match=r"no preprocessing attached: build it with genzoo.create_model"):
        model.preprocessing  # noqa: B018


def test_a_folder_saved_without_preprocessing_loads_with_the_registered_one(tmp_path: Path) -> None:
    model = DCGAN(DCGANConfig(**SMALL))
    model.meta = ModelMeta(name="dcgan-mnist", family="dcgan", plugin="dcgan")
    model.save_pretrained(tmp_path / "m")
    assert "preprocessing" not in json.loads((tmp_path / "m" / "config.json").read_text())
    loaded = genzoo.create_model(str(tmp_path / "m"))
    assert loaded.preprocessing == genzoo.create_model("dcgan-mnist").preprocessing


def test_a_missing_capability_is_refused_in_one_line() -> None:
    with pytest.raises(CapabilityError, match=r"dcgan has no translate \(it can: sample\)"):
        genzoo.create_model("dcgan-mnist", **SMALL).require("translate")


def test_calling_a_capability_the_model_lacks_raises_a_capability_error() -> None:
    """The base class implements no capability method, so a model has one exactly when its family wrote it;
    asking for a missing one is still the zoo's one-line CapabilityError (and, to hasattr, an AttributeError)."""
    model = genzoo.create_model("cyclegan")
    with pytest.raises(CapabilityError, match=r"cyclegan has no sample \(it can: translate\)"):
        model.sample(2)
    assert not hasattr(model, "log_prob") and hasattr(model, "translate")
