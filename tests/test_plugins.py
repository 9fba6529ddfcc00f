"""Third-party plugins, for real: build and pip-install plugin distributions kept under
tests/plugins/, then drive the `genzoo` CLI in a subprocess that sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent / "plugins"


def pip_install_target(project: Path, target: Path) -> None:
    """pip-install a plugin distribution into ``target`` (offline, building with our setuptools)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(project)],
        check=True, capture_output=True, text=True,
    )


def genzoo(*args: str, path: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(path) if path else "", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "genzoo.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip_install_target(PLUGINS / "genzoo-toy", target)
    pip_install_target(PLUGINS / "genzoo-broken", target)
    pip_install_target(PLUGINS / "genzoo-badcatalog", target)
    return target


def test_third_party_model_is_listed_and_described(site: Path) -> None:
    listed = genzoo("list", "--json", path=site)
    assert listed.returncode == 0, listed.stderr
    names = {m["name"]: m for m in json.loads(listed.stdout)}
    assert names["toy-gan"]["plugin"] == "toy"
    assert "dcgan-mnist" in names  # the built-ins are untouched
    info = genzoo("info", "toy-gan", "--json", path=site)
    data = json.loads(info.stdout)
    assert data["distribution"] == "genzoo-toy"
    assert {f["name"] for f in data["config"]} == {"image_size", "channels", "latent_dim", "hidden"}


def test_third_party_model_trains_and_samples(site: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = genzoo("train", "toy-gan", "--data", "digits", "--steps", "4", "--out", str(run),
                     "--set", "train.log_every=2", "--set", "hidden=32", path=site)
    assert trained.returncode == 0, trained.stderr
    assert "trained 4 steps" in trained.stdout
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logs] == [2, 4]
    assert all(abs(entry["g.loss"]) < 1e3 for entry in logs)
    config = json.loads((run / "pretrained" / "config.json").read_text())
    assert config["plugin"] == "toy" and config["distribution"] == "genzoo-toy"
    assert config["config"]["hidden"] == 32
    sampled = genzoo("sample", str(run), "--n", "4", "--out", str(tmp_path / "grid.png"), path=site)
    assert sampled.returncode == 0, sampled.stderr
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_broken_plugins_are_reported_and_the_zoo_keeps_working(site: Path) -> None:
    plugins = genzoo("plugins", "--json", path=site)
    assert plugins.returncode == 0, plugins.stderr
    by_name = {p["name"]: p for p in json.loads(plugins.stdout)}
    assert "ModuleNotFoundError" in by_name["broken_import"]["errors"][0]
    assert by_name["broken_import"]["distribution"] == "genzoo-broken"
    assert "broken on purpose" in by_name["broken_hook"]["errors"][0]
    assert by_name["toy"]["errors"] == [] and by_name["dcgan"]["errors"] == []
    assert by_name["broken_builder"]["errors"] == []  # it breaks only when its model is built
    # what the failing hook registered before raising is rolled back
    assert "models" not in by_name["broken_hook"]["registered"]

    listed = genzoo("list", path=site)
    assert listed.returncode == 0
    assert "dcgan-mnist" in listed.stdout and "toy-gan" in listed.stdout
    assert "half-registered" not in listed.stdout
    warnings = [line for line in listed.stderr.splitlines() if "genzoo-broken" in line]
    assert len(warnings) == 2 and all(w.startswith("warning: plugin 'broken_") for w in warnings)


def test_plugin_that_is_missing_is_named_when_loading_its_weights(site: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert genzoo("train", "toy-gan", "--data", "digits", "--steps", "1", "--out", str(run), path=site).returncode == 0
    without = genzoo("sample", str(run), "--out", str(tmp_path / "x.png"))  # plugin not on the path
    assert without.returncode == 1
    assert "genzoo-toy" in without.stderr and "Traceback" not in without.stderr


def test_a_builder_that_fails_to_import_names_its_plugin_and_distribution(site: Path, tmp_path: Path) -> None:
    code = ("import genzoo\ntry:\n    genzoo.create_model('broken-builder')\n"
            "except genzoo.GenzooError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr
    assert "plugin 'broken_builder', distribution 'genzoo-broken'" in out.stdout
    assert "genzoo_broken.needs_missing" in out.stdout and "genzoo_missing_dependency" in out.stdout
    assert genzoo("info", "broken-builder", path=site).returncode == 0  # describing it needs no builder
    built = genzoo("sample", "broken-builder", "--out", str(tmp_path / "x.png"), path=site)
    assert built.returncode == 1 and "Traceback" not in built.stderr
    assert "distribution 'genzoo-broken'" in built.stderr


def test_a_broken_plugin_catalog_is_reported_and_the_zoo_keeps_working(site: Path) -> None:
    plugins = genzoo("plugins", "--json", path=site)
    assert plugins.returncode == 0, plugins.stderr
    (error,) = {p["name"]: p for p in json.loads(plugins.stdout)}["badcatalog"]["errors"]
    assert error.startswith("catalog failed: ") and "genzoo_badcatalog/zoo.toml" in error
    assert "[models.dcgan-narrow] has unknown keys ['confg']" in error
    listed = genzoo("list", "dcgan*", path=site)
    assert listed.returncode == 0 and "dcgan-mnist" in listed.stdout and "dcgan-narrow" not in listed.stdout
    assert "warning: plugin 'badcatalog' (distribution genzoo-badcatalog) is broken: catalog failed" in listed.stderr
    suites = genzoo("bench", "list", path=site)
    assert suites.returncode == 0 and "mnist-quick" in suites.stdout


def throwaway_env(tmp_path: Path) -> Path:
    """A venv that sees this environment's packages but installs into its own prefix."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_paths()["purelib"])
    site_dir = next((venv / "lib").glob("python*/site-packages"))
    (site_dir / "parent-env.pth").write_text(f"import site; site.addsitedir({str(purelib)!r})\n")
    return venv / "bin" / "python"


def test_install_and_uninstall_run_pip_in_the_running_environment(tmp_path: Path) -> None:
    python = throwaway_env(tmp_path)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_DEPS": "1", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-m", "genzoo.cli", *args], capture_output=True, text=True, env=env)

    assert "toy-gan" not in run("list").stdout
    installed = run("install", str(PLUGINS / "genzoo-toy"))
    assert installed.returncode == 0, installed.stderr
    assert "toy-gan" in run("list").stdout
    assert run("uninstall", "genzoo-toy").returncode == 0
    assert "toy-gan" not in run("list").stdout
    failed = run("install", str(tmp_path / "no-such-plugin"))
    assert failed.returncode == 1 and "pip install failed" in failed.stderr
