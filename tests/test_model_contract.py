"""The contract between what a plugin registers and what its model class does, over every registered name.

A ModelSpec carries some facts without importing torch (capabilities, the sampling options class) that the
model class carries too; these tests build every registered model (zoo.toml variants included) and check
that the two agree, that each capability is backed by the matching protocol, and that sampling keeps the
promises of the Generator protocol.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

import genzoo
from genzoo.core.errors import ConfigError
from genzoo.core.model import PROTOCOLS
from genzoo.zoo import get_zoo
from genzoo.zoo.specs import CAPABILITIES

NAMES = sorted(get_zoo().models)
SMALLER_FOR_SAMPLING = {"pixelcnn": {"image_size": 8}, "stylegan2": {"image_size": 32}}
"""Per family: overrides for the sampling test only. PixelCNN draws one sub-pixel per network call, so a
28x28 or 32x32x3 grid costs 784-3,072 calls (about 50 s for the five PixelCNN names on one CPU thread);
8x8 keeps every other field of the registered config (arch, channels, widths, classes) and takes under a second.
StyleGAN2's official layouts sample 256 and 1024 pixels (about 30 s for three names); 32 keeps their style
dimension, mapping depth and widths."""


@pytest.fixture(scope="module")
def models():
    """Each registered model built once, as genzoo.create_model(name) builds it (seeded, eval mode)."""
    cache: dict[tuple[str, bool], torch.nn.Module] = {}

    def get(name: str, for_sampling: bool = False) -> torch.nn.Module:
        overrides = SMALLER_FOR_SAMPLING.get(get_zoo().model(name).family, {}) if for_sampling else {}
        key = (name, bool(overrides))
        if key not in cache:
            torch.manual_seed(0)
            cache[key] = genzoo.create_model(name, **overrides).eval()
        return cache[key]

    return get


def test_capability_names_are_the_protocols() -> None:
    assert len(CAPABILITIES) == len(set(CAPABILITIES))
    assert set(CAPABILITIES) == set(PROTOCOLS)


def test_every_zoo_toml_variant_is_registered() -> None:
    zoo = get_zoo()
    assert not zoo.catalog_notes
    assert {"dcgan-mnist", "glow-cifar10", "conditional-pixelcnn"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_spec_and_class_agree(name: str, models) -> None:
    entry = get_zoo().model(name)
    model = models(name)
    assert set(model.capabilities) == set(entry.capabilities), name
    for capability in model.capabilities:
        assert isinstance(model, PROTOCOLS[capability]), (name, capability)
        model.require(capability)
    assert entry.sample_options_class() is type(model).sample_options
    if entry.spec.builder.startswith("genzoo.plugins."):  # built-in builders are the model classes themselves
        assert entry.builder() is type(model)


@pytest.mark.parametrize("name", NAMES)
def test_sampling_options_are_typed_and_documented(name: str, models) -> None:
    model = models(name)
    options = type(model).sample_options
    if options is None:
        assert model.sampling({}) is None
        with pytest.raises(ConfigError, match="takes no sampling options"):
            model.sampling({"temperature": "0.5"})
        return
    assert dataclasses.is_dataclass(options)
    for f in dataclasses.fields(options):
        assert f.metadata.get("help"), f"{options.__name__}.{f.name} has no help for `genzoo info`"
        assert not hasattr(model.config, f.name) or getattr(model.config, f.name) is None, (
            f"{f.name} is a sampling option of {name} and a live config field too")
    assert model.sampling({}) == options()
    with pytest.raises(ConfigError, match=r"no field 'bogus'.*Fields: "):
        model.sampling({"bogus": "1"})


@pytest.mark.parametrize("name", [n for n in NAMES if "sample" in get_zoo().models[n].capabilities])
def test_sample_returns_finite_images_in_range(name: str, models) -> None:
    model = models(name, for_sampling=True)
    c = model.config
    labels = torch.tensor([0, 1]) if "conditional" in model.capabilities else None
    before = dataclasses.asdict(c)
    with torch.no_grad():
        images = model.sample(2, labels=labels, generator=torch.Generator().manual_seed(0))
        with pytest.raises(ConfigError, match="bogus"):
            model.sample(1, labels=None if labels is None else labels[:1], bogus=1)
    assert images.shape == (2, c.channels, c.image_size, c.image_size), name
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1, name
    assert dataclasses.asdict(model.config) == before
