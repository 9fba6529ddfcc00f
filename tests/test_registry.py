"""The lazy registry: names, wildcards, zoo.toml variants, overrides, and no torch for listing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import genzoo
from genzoo.catalog import load
from genzoo.core.errors import ConfigError, GenzooError


def test_wildcard_listing_and_variants() -> None:
    names = genzoo.list_models("dcgan*")
    assert {"dcgan", "dcgan-mnist", "dcgan-cifar10"} <= set(names)
    assert names == sorted(names)
    assert all(n.startswith("dcgan") for n in names)
    assert genzoo.list_models(["dcgan-m*", "dcgan-c*"]) == ["dcgan-cifar10", "dcgan-mnist"]


def test_variant_config_sits_on_family_defaults_and_overrides_are_typed() -> None:
    model = genzoo.create_model("dcgan-cifar10", latent_dim=64)
    assert (model.config.image_size, model.config.channels, model.config.latent_dim) == (32, 3, 64)
    assert model.meta["name"] == "dcgan-cifar10" and model.meta["plugin"] == "dcgan"
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


def test_listing_and_info_import_no_torch() -> None:
    code = textwrap.dedent("""
        import sys
        from genzoo.cli import cli
        for args in (["list"], ["info", "dcgan-mnist"], ["--help"], ["plugins"]):
            try:
                cli.main(args, standalone_mode=False)
            except SystemExit:
                pass
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("NO-TORCH"), out.stdout[-500:]


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
