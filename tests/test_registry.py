"""The lazy registry: names, wildcards, zoo.toml variants (genzoo's, plugins', the user's), overrides,
and no torch for listing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import genzoo
from genzoo.core.errors import ConfigError, GenzooError
from genzoo.zoo import catalog, get_zoo
from genzoo.zoo.catalog import load
from genzoo.zoo.plugin_manager import PluginCatalog


def test_wildcard_listing_and_variants() -> None:
    names = genzoo.list_models("dcgan*")
    assert {"dcgan", "dcgan-mnist", "dcgan-cifar10"} <= set(names)
    assert names == sorted(names)
    assert all(n.startswith("dcgan") for n in names)
    assert genzoo.list_models(["dcgan-m*", "dcgan-c*"]) == ["dcgan-cifar10", "dcgan-mnist", "dcgan-mnist-hinge-sn"]


def test_variant_config_sits_on_family_defaults_and_overrides_are_typed() -> None:
    model = genzoo.create_model("dcgan-cifar10", latent_dim=64)
    assert (model.config.image_size, model.config.channels, model.config.latent_dim) == (32, 3, 64)
    assert model.meta.name == "dcgan-cifar10" and model.meta.plugin == "dcgan"
    assert model.sample(2).shape == (2, 3, 32, 32)
    with pytest.raises(ConfigError, match="dcgan-mnist has no field 'latnet_dim'. Did you mean: latent_dim"):
        genzoo.create_model("dcgan-mnist", latnet_dim=3)
    with pytest.raises(ConfigError, match="image_size=30 is not allowed"):
        genzoo.create_model("dcgan", image_size=30)


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(GenzooError, match="unknown model 'dcgan-mnsit'. Did you mean: dcgan-mnist"):
        genzoo.create_model("dcgan-mnsit")


def test_info_lists_every_field_with_type_default_and_value() -> None:
    info = genzoo.model_info("dcgan-mnist")
    fields = {f["name"]: f for f in info["config"]}
    assert fields["image_size"]["default"] == 32 and fields["image_size"]["value"] == 28
    assert fields["loss"]["type"] == "'bce' | 'hinge'"
    recipe = {f["name"]: f for f in info["train"]}
    assert recipe["steps"]["value"] == 3000 and recipe["ema_decay"]["value"] == 0.999
    assert info["preprocessing"][0]["name"] == "normalize"


def test_user_catalog_adds_variants_and_bad_catalogs_are_named(tmp_path: Path) -> None:
    extra = tmp_path / "team.toml"
    extra.write_text('[models.dcgan-wide]\nmodel = "dcgan"\nconfig = { g_width = 128 }\n')
    variants = load([extra]).variants
    assert variants["dcgan-wide"].config == {"g_width": 128}
    bad = tmp_path / "bad.toml"
    bad.write_text('[models.x]\nmodell = "dcgan"\n')
    with pytest.raises(ConfigError, match=r"bad.toml: \[models.x\] has unknown keys \['modell'\]"):
        load([bad])
    env = {**os.environ, "GENZOO_CATALOG": str(extra)}
    out = subprocess.run([sys.executable, "-m", "genzoo.cli", "info", "dcgan-wide", "--json"], env=env,
                         capture_output=True, text=True)
    assert '"value": 128' in out.stdout


# -- catalogs shipped inside plugins -------------------------------------------------------------

GOOD = """
[models.vae-plugin-variant]
model = "vae"
description = "a variant a plugin ships"
config = { latent_dim = 3 }

[suites.plugin-suite]
description = "a suite a plugin ships"
data = "digits"
features = "lenet-mnist"
budget = { steps = 1 }
models = ["vae-plugin-variant"]
"""


@pytest.fixture
def plugin_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Pretend built-in plugins ship zoo.toml files: ``install({plugin: text})``; the zoo is rebuilt around it."""
    def install(files: dict[str, str]) -> list[Path]:
        found = []
        for plugin, text in files.items():
            path = tmp_path / f"genzoo_{plugin}" / "zoo.toml"
            path.parent.mkdir()
            path.write_text(text)
            found.append(PluginCatalog(plugin=plugin, distribution="genzoo", path=path))
        monkeypatch.setattr(catalog, "plugin_catalogs", lambda: found)
        get_zoo.cache_clear()
        return [pc.path for pc in found]

    monkeypatch.delenv("GENZOO_CATALOG", raising=False)
    yield install
    monkeypatch.undo()
    get_zoo.cache_clear()  # the next test sees the real zoo again


def test_plugin_catalog_loads_after_the_shipped_one_and_before_the_users(plugin_catalogs, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = plugin_catalogs({"vae": GOOD})
    cat = load()
    assert cat.files[0] == catalog.SHIPPED and cat.files[1] == path
    assert cat.plugins == {"vae": {"models": ["vae-plugin-variant"], "suites": ["plugin-suite"]}}
    assert "plugin-suite" in cat.raw["suites"] and "mnist-quick" in cat.raw["suites"]
    variant = cat.variants["vae-plugin-variant"]
    assert (variant.plugin, variant.origin) == ("vae", "genzoo_vae/zoo.toml, plugin vae")

    entry = get_zoo().model("vae-plugin-variant")
    assert entry.source == "zoo.toml (genzoo_vae/zoo.toml, plugin vae)"
    assert (entry.plugin, entry.config["latent_dim"]) == ("vae", 3)
    assert get_zoo().plugins["vae"].registered["variants"] == ["vae-plugin-variant"]
    assert get_zoo().plugins["vae"].registered["suites"] == ["plugin-suite"]
    assert genzoo.model_info("vae-plugin-variant")["source"] == entry.source

    # the user's $GENZOO_CATALOG still has the last word
    user = tmp_path / "team.toml"
    user.write_text('[models.vae-plugin-variant]\nmodel = "vae"\nconfig = { latent_dim = 5 }\n')
    monkeypatch.setenv("GENZOO_CATALOG", str(user))
    cat = load()
    assert cat.files == [catalog.SHIPPED, path, user]
    assert (cat.variants["vae-plugin-variant"].config, cat.variants["vae-plugin-variant"].plugin) == (
        {"latent_dim": 5}, "")


def test_benchmark_suites_see_plugin_catalogs(plugin_catalogs) -> None:
    from genzoo.benchmark.suite import list_suites, load_suite

    (path,) = plugin_catalogs({"vae": GOOD})
    assert list_suites()["plugin-suite"] == "a suite a plugin ships"
    suite = load_suite("plugin-suite")
    assert suite.path == str(path) and [m.model for m in suite.models] == ["vae-plugin-variant"]


@pytest.mark.parametrize(("text", "error"), [
    ("[models.x\n", "is not valid TOML"),
    ('[models.x]\nmodell = "vae"\n', r"\[models.x\] has unknown keys \['modell'\]"),
    ('[model.x]\nmodel = "vae"\n', r"unknown top-level tables \['model'\]"),
    ('[models.dcgan-mnist]\nmodel = "dcgan"\n', r"\[models.dcgan-mnist\] is already declared by genzoo's zoo.toml"),
    ('[suites.mnist-quick]\ndata = "mnist"\n', r"\[suites.mnist-quick\] is already declared"),
])
def test_a_broken_plugin_catalog_is_reported_against_its_plugin(plugin_catalogs, text: str, error: str) -> None:
    broken, good = plugin_catalogs({"dcgan": text + '[models.dcgan-extra]\nmodel = "dcgan"\n', "vae": GOOD})
    cat = load()  # does not raise: the broken file is skipped whole, the good one still loads
    assert broken not in cat.files and good in cat.files
    assert "dcgan-extra" not in cat.variants and "vae-plugin-variant" in cat.variants
    assert re.search(error, cat.plugin_errors["dcgan"][0]) and str(broken) in cat.plugin_errors["dcgan"][0]
    assert cat.raw["models"]["dcgan-mnist"] == load([catalog.SHIPPED]).raw["models"]["dcgan-mnist"]

    zoo = get_zoo()
    assert zoo.plugins["dcgan"].errors == [f"catalog failed: {cat.plugin_errors['dcgan'][0]}"]
    assert zoo.plugins["vae"].ok
    assert {"dcgan", "dcgan-mnist", "vae-plugin-variant"} <= set(zoo.models)  # the zoo keeps working
    assert zoo.model("dcgan-mnist").source == "zoo.toml (zoo.toml)"


def test_two_plugins_cannot_declare_the_same_name(plugin_catalogs) -> None:
    plugin_catalogs({"glow": GOOD, "vae": GOOD})
    cat = load()
    assert cat.variants["vae-plugin-variant"].plugin == "glow"  # the first plugin (by name) keeps it
    assert "already declared by plugin 'glow' (genzoo_glow/zoo.toml)" in cat.plugin_errors["vae"][0]
