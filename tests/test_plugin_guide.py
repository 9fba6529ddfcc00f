"""docs/plugin-guide.md's example plugin, exactly as the guide prints it.

Its files are extracted from the guide (each is a fenced block right after a line naming its
path), built into a wheel and pip-installed into a fresh venv, as tests/test_plugins.py does for
genzoo-toy; then, in that venv, the model is listed with its origin, trained on scikit-learn's
digits, sampled, saved with save_pretrained and reloaded, its plugin catalog's suite is loaded,
and the example's own tests run. When the guide's code or contract rots, this fails.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_plugins import throwaway_env

from genzoo.core.phases import Batch, Optim, Phase
from genzoo.core.preprocessing import Preprocessing
from genzoo.zoo import hookspecs
from genzoo.zoo.specs import CAPABILITIES, ModelSpec

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md"
EXAMPLE = "genzoo-tinyvae"
FILES = {"pyproject.toml", "genzoo_tinyvae/__init__.py", "genzoo_tinyvae/config.py", "genzoo_tinyvae/model.py",
         "genzoo_tinyvae/zoo.toml", "tests/test_tinyvae.py"}
ORIGIN = "zoo.toml (genzoo_tinyvae/zoo.toml, plugin tinyvae)"


def extract(text: str) -> dict[str, str]:
    """{path inside the example: content} for every "`genzoo-tinyvae/PATH`:" line followed by a code fence."""
    lines = text.splitlines(keepends=True)
    files: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = re.fullmatch(rf"`{EXAMPLE}/([^`]+)`:\s*", line)
        if not m:
            continue
        assert lines[i + 1].startswith("```"), f"{GUIDE.name}:{i + 2}: a code fence must follow {line.strip()}"
        end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == "```")
        assert m[1] not in files, f"{GUIDE.name}: {m[1]} is printed twice"
        files[m[1]] = "".join(lines[i + 2 : end])
    return files


def test_the_guide_prints_the_whole_example_and_documents_the_whole_contract() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    files = extract(text)
    assert set(files) == FILES
    assert not re.search(r"^\s*(import|from) torch", files["genzoo_tinyvae/__init__.py"], re.M)
    # every field, hook and name a plugin author meets is explained, so a new one cannot go undocumented
    documented = {
        "ModelSpec field": [f.name for f in dataclasses.fields(ModelSpec)],
        "capability": list(CAPABILITIES),
        "hook": [n for n in dir(hookspecs) if n.startswith("register_")],
        "Batch field": [f.name for f in dataclasses.fields(Batch)],
        "Optim field": [f.name for f in dataclasses.fields(Optim)],
        "Phase field": [f.name for f in dataclasses.fields(Phase)],
        "Preprocessing field": [f.name for f in dataclasses.fields(Preprocessing)],
        "normalize mode": ["minus_one_one", "zero_one", "dequantize", "uint8"],
    }
    for what, names in documented.items():
        missing = [n for n in names if f"`{n}" not in text]
        assert not missing, f"{GUIDE.name} does not explain {what}(s) {missing}"
    assert "betas=(0.5, 0.999)" in text and "Optim(lr=1e-3, betas=(0.9, 0.999))" in text
    for var in ("GENZOO_CACHE", "GENZOO_DATA", "GENZOO_CATALOG"):
        assert f"`{var}`" in text


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_the_example_passes_lint(tmp_path: Path) -> None:
    for rel, content in extract(GUIDE.read_text(encoding="utf-8")).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content, encoding="utf-8")
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--line-length", "120",
                           "--target-version", "py310", "--select", "E,F,W,B,UP,SIM", str(tmp_path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the guide's example built into a wheel and pip-installed (offline, no build isolation)."""
    root = tmp_path_factory.mktemp("guide")
    for rel, content in extract(GUIDE.read_text(encoding="utf-8")).items():
        path = root / EXAMPLE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    python = throwaway_env(root)
    pip = ["-m", "pip", "-q", "--disable-pip-version-check"]
    wheel = subprocess.run([sys.executable, *pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation",
                            "-w", str(root / "dist"), str(root / EXAMPLE)], capture_output=True, text=True)
    assert wheel.returncode == 0, wheel.stderr
    (built,) = (root / "dist").glob("genzoo_tinyvae-*.whl")
    installed = subprocess.run([str(python), *pip, "install", "--no-deps", "--no-index", str(built)],
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python args`` in the venv, from ``cwd`` (never the example's source folder, so the installed copy is used)."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": ""}
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=env, cwd=cwd)


def genzoo(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    out = run(python, "-m", "genzoo.cli", *args, cwd=cwd)
    assert out.returncode == 0, f"genzoo {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    assert "warning: plugin" not in out.stderr, out.stderr
    return out


def test_listed_with_its_origin_and_without_torch(venv: Path, tmp_path: Path) -> None:
    listed = genzoo(venv, "list", "tinyvae*", cwd=tmp_path).stdout
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[1:] if line.strip()}
    assert set(rows) == {"tinyvae", "tinyvae-digits", "tinyvae-mnist"}
    assert all(row[1] == "tinyvae" and row[3] == "tinyvae" for row in rows.values())  # family, plugin
    info = genzoo(venv, "info", "tinyvae-digits", cwd=tmp_path).stdout
    assert "plugin tinyvae (genzoo-tinyvae)" in info and f"from {ORIGIN}" in " ".join(info.split())
    data = json.loads(genzoo(venv, "info", "tinyvae-digits", "--json", cwd=tmp_path).stdout)
    assert (data["source"], data["distribution"], data["data"]) == (ORIGIN, "genzoo-tinyvae", "digits")
    assert data["capabilities"] == ["sample", "reconstruct", "encode"]
    assert [f["name"] for f in data["sampling"]] == ["temperature"]
    plugins = {p["name"]: p for p in json.loads(genzoo(venv, "plugins", "--json", cwd=tmp_path).stdout)}
    tiny = plugins["tinyvae"]
    assert (tiny["distribution"], tiny["errors"]) == ("genzoo-tinyvae", [])
    assert tiny["registered"] == {"models": ["tinyvae"], "variants": ["tinyvae-mnist", "tinyvae-digits"],
                                  "suites": ["tinyvae-vs-vae"]}
    no_torch = textwrap.dedent("""
        import sys
        from genzoo.cli import cli
        for args in (["list"], ["info", "tinyvae-digits"], ["plugins"]):
            cli.main(args, standalone_mode=False)
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    out = run(venv, "-c", no_torch, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip().endswith("NO-TORCH"), out.stderr[-2000:]


def test_trains_samples_saves_and_reloads(venv: Path, tmp_path: Path) -> None:
    trained = genzoo(venv, "train", "tinyvae-digits", "--data", "digits", "--steps", "150", "--out", "run",
                     "--set", "train.log_every=25", cwd=tmp_path)
    assert "trained 150 steps" in trained.stdout
    logs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [entry["vae.loss"] for entry in logs if "vae.loss" in entry]
    assert len(losses) == 6 and all("vae.recon" in e and "vae.kl" in e for e in logs if "vae.loss" in e)
    assert losses[-1] < 0.9 * losses[0], losses  # it learns
    config = json.loads((tmp_path / "run" / "pretrained" / "config.json").read_text())
    assert (config["name"], config["plugin"], config["distribution"]) == ("tinyvae-digits", "tinyvae",
                                                                         "genzoo-tinyvae")
    assert (tmp_path / "run" / "pretrained" / "model.ema.safetensors").is_file()  # ema_modules + ema_decay

    genzoo(venv, "sample", "run", "--n", "16", "--out", "grid.png", cwd=tmp_path)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    reload = textwrap.dedent("""
        import torch
        import genzoo
        from genzoo.benchmark import load_suite

        model = genzoo.create_model("run")
        model.save_pretrained("saved")
        again = genzoo.create_model("saved")
        a, b = model.state_dict(), again.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "weights differ"
        assert (again.meta.plugin, again.meta.distribution) == ("tinyvae", "genzoo-tinyvae")
        with torch.no_grad():
            images = again.eval().sample(4, generator=torch.Generator().manual_seed(0), temperature=0.7)
        assert images.shape == (4, 1, 16, 16) and -1 <= images.min() <= images.max() <= 1
        assert images.min() < -0.5 and images.max() > 0.5, "samples are not in [-1, 1] (dark digits' background is -1)"
        suite = load_suite("tinyvae-vs-vae")
        print("OK", len(a), suite.path, [m.model for m in suite.models])
    """)
    out = run(venv, "-c", reload, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK 8 ") and "genzoo_tinyvae/zoo.toml" in out.stdout, out.stdout
    assert "['tinyvae-mnist', 'vae-mnist']" in out.stdout
    assert "tinyvae-vs-vae" in genzoo(venv, "bench", "list", cwd=tmp_path).stdout


def test_the_examples_own_tests_pass(venv: Path, tmp_path: Path) -> None:
    tests = venv.parents[2] / EXAMPLE / "tests"  # venv is ROOT/venv/bin/python
    out = run(venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests), cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 passed" in out.stdout
