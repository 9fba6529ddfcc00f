"""Benchmarks: suite validation, cell keys, resuming a killed run, n/a cells, reports, compare, and
report.html rendered by a real headless Chromium.

One tiny suite (two 8-wide models on scikit-learn's digits, a 3-step LeNet evaluator) is run once
for the module: in a subprocess that is killed after its first cell, then again to completion.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from genzoo.benchmark.cells import plan
from genzoo.benchmark.runner import extractor_identity
from genzoo.benchmark.suite import load_suite, parse_suite
from genzoo.cli import cli
from genzoo.core.errors import ConfigError

SUITES = """
[suites.tiny]
description = "two tiny models on digits"
data = "digits"
metrics = ["fid", "kid", "pr", "psnr"]
features = "{evaluator}"
n = 64
budget = {{ steps = 4 }}
train = {{ batch_size = 16 }}
eval = {{ kid_subsets = 5, kid_subset_size = 32, batch_size = 64 }}

[suites.tiny.models.dcgan]
model = "dcgan-digits"
config = {{ g_width = 8, d_width = 8 }}

[suites.tiny.models.vae]
model = "vae-mnist"
config = {{ width = 8, latent_dim = 4 }}
budget = {{ minutes = 0.05 }}

[suites.part]
description = "a model scored on a part of the suite's metrics, for its recipe's length (here cut to 2 steps)"
data = "digits"
metrics = ["fid", "kid"]
features = "{evaluator}"
n = 32
budget = "recipe"
train = {{ batch_size = 16, steps = 2, sample_grid = 0 }}
eval = {{ kid_subsets = 5, kid_subset_size = 16, batch_size = 32 }}
models = [{{ model = "vae-mnist", config = {{ width = 8, latent_dim = 4 }}, metrics = ["kid"] }}]

[suites.long]
description = "one tiny model trained long enough to checkpoint (every 50 steps)"
data = "digits"
metrics = ["fid", "kid"]
features = "{evaluator}"
n = 64
budget = {{ steps = 1000 }}
train = {{ batch_size = 16 }}
eval = {{ kid_subsets = 5, kid_subset_size = 32, batch_size = 64 }}
models = [{{ model = "dcgan-digits", config = {{ g_width = 8, d_width = 8 }} }}]

[suites.likelihoods]
description = "two likelihood families ranked on one bits/dim column"
data = "digits"
metrics = ["bpd"]
features = "{evaluator}"
n = 32
budget = {{ steps = 2 }}
train = {{ batch_size = 16, sample_grid = 0 }}
models = [{{ model = "glow-mnist", config = {{ steps = 1, hidden = 8 }} }},
          {{ model = "realnvp-mnist", config = {{ couplings = 1, n_blocks = 1, hidden = 8 }} }}]

[suites.broken]
data = "digits"
metrics = ["fid"]
features = "{evaluator}"
n = 16
models = [{{ model = "dcgan-digits", budget = "pretrained" }}]
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, digits_evaluator: Path):
    """A catalog with the tiny suites, scored with the (barely) trained LeNet evaluator for digits."""
    root = tmp_path_factory.mktemp("bench")
    catalog = root / "suites.toml"
    catalog.write_text(SUITES.format(evaluator=digits_evaluator), encoding="utf-8")
    old = os.environ.get("GENZOO_CATALOG")
    os.environ["GENZOO_CATALOG"] = str(catalog)
    yield root
    if old is None:
        os.environ.pop("GENZOO_CATALOG", None)
    else:
        os.environ["GENZOO_CATALOG"] = old


def _cells() -> list:
    """The tiny suite's cells, keyed with its extractor as the runner keys them."""
    suite = load_suite("tiny")
    return plan(suite, extractor_identity(suite.protocol, None, print))


def _bench(*args: str) -> object:
    return CliRunner().invoke(cli, ["bench", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def killed_then_resumed(env: Path) -> dict:
    """Run the suite in a subprocess, SIGKILL it once the first cell finished, then run it again."""
    out = env / "out"
    proc = subprocess.Popen([sys.executable, "-m", "genzoo.cli", "bench", "tiny", "--out", str(out)],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while not list(out.glob("cells/*/result.json")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the first cell never finished:\n{proc.stdout.read().decode()}")
        time.sleep(0.05)
    proc.kill()  # mid-way through the second cell (it trains for 3 s of wall clock)
    proc.wait()
    first = list(out.glob("cells/*/result.json"))
    before = {p.parent.name: (p.stat().st_mtime_ns, p.read_text()) for p in first}
    cells = _cells()
    unfinished = [c for c in cells if c.dir(out).name not in before]
    partial = unfinished[0].dir(out) if unfinished else None
    if partial is not None:  # what a killed cell may leave behind; the rerun must wipe it
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "half-written.bin").write_bytes(b"\0" * 10)
    result = _bench("tiny", "--out", str(out))
    return {"out": out, "before": before, "partial": partial, "result": result}


def test_resume_after_kill_reuses_finished_cells(killed_then_resumed: dict) -> None:
    k = killed_then_resumed
    assert len(k["before"]) == 1, "the kill was meant to land while the second cell was still running"
    assert k["result"].exit_code == 0, k["result"].output
    assert "1 finished (reused), 1 to run" in k["result"].output
    for name, (mtime, text) in k["before"].items():
        path = k["out"] / "cells" / name / "result.json"
        assert path.stat().st_mtime_ns == mtime and path.read_text() == text  # not recomputed
    assert (k["partial"] / "result.json").is_file()
    assert not (k["partial"] / "half-written.bin").exists()  # the interrupted cell restarted clean
    assert len(list(k["out"].glob("cells/*/result.json"))) == 2


def _bench_process(out: Path) -> subprocess.Popen:
    """`genzoo bench long` in its own one-thread process, so every run of it trains alike."""
    return subprocess.Popen([sys.executable, "-m", "genzoo.cli", "bench", "long", "--out", str(out)],
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def test_a_cell_killed_mid_training_resumes_from_its_checkpoint_to_the_same_figures(env: Path,
                                                                                   tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    proc = _bench_process(killed)
    deadline = time.monotonic() + 600
    while True:  # kill it once a checkpoint exists and a row after it was logged (rows every 25 steps, checkpoints 50)
        runs = list(killed.glob("cells/*/run"))
        logged = [json.loads(line)["step"] for line in (runs[0] / "metrics.jsonl").read_text().splitlines()
                  if line.endswith("}")] if runs and (runs[0] / "metrics.jsonl").exists() else []
        if runs and (runs[0] / "checkpoints" / "last.safetensors").exists() and logged and logged[-1] % 50 == 25 \
                and logged[-1] > 50:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no checkpoint was written before the run ended:\n{proc.stdout.read().decode()}")
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    run = runs[0]
    assert not (run.parent / "result.json").exists()
    (run.parent / "leftover.bin").write_bytes(b"\0")  # anything outside the training run is redone
    resumed = _bench_process(killed)
    unbroken = _bench_process(tmp_path / "unbroken")
    texts = [p.communicate(timeout=600)[0].decode() for p in (resumed, unbroken)]
    assert resumed.returncode == 0 and unbroken.returncode == 0, texts
    assert "1 to run (1 resumes a killed attempt's training)" in texts[0] and "(resumed)" in texts[0]
    result = json.loads((run.parent / "result.json").read_text())
    assert result["resumed"] is True and result["steps"] == 1000
    assert not (run.parent / "leftover.bin").exists()
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 1000  # the killed timeline's extra rows were dropped
    reference = json.loads(next((tmp_path / "unbroken").glob("cells/*/result.json")).read_text())
    assert "resumed" not in reference
    assert result["scores"] == reference["scores"]  # the trainer's resume is exact, so the figures are too


def test_a_cell_killed_while_being_scored_keeps_its_trained_weights(env: Path, tmp_path: Path) -> None:
    """What a kill during scoring leaves: a finished training run, no checkpoints (removed once trained), no
    result.json. The rerun scores that run again instead of training it again."""
    out = tmp_path / "out"
    first = _bench("tiny", "--models", "dcgan", "--out", str(out))
    assert first.exit_code == 0, first.output
    assert [m["label"] for m in json.loads((out / "results.json").read_text())["models"]] == ["dcgan"]  # vae: not run
    for report in ("results.md", "report.html"):  # and the report says it is part of the suite
        assert "not in this report (no finished cell in this folder): vae" in (out / report).read_text()
    cell = next(out.glob("cells/*/result.json")).parent
    before = json.loads((cell / "result.json").read_text())
    (cell / "result.json").unlink()
    weights = next((cell / "run" / "pretrained").glob("*.safetensors"))
    trained = weights.stat().st_mtime_ns, (cell / "run" / "metrics.jsonl").read_text()
    again = _bench("tiny", "--models", "dcgan", "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "(1 resumes a killed attempt's training)" in again.output
    assert (weights.stat().st_mtime_ns, (cell / "run" / "metrics.jsonl").read_text()) == trained  # not retrained
    after = json.loads((cell / "result.json").read_text())
    assert after["resumed"] is True and after["steps"] == before["steps"] == 4
    assert after["scores"] == before["scores"]


def test_reports_rank_models_and_mark_na(killed_then_resumed: dict) -> None:
    out = killed_then_resumed["out"]
    res = json.loads((out / "results.json").read_text())
    models = {m["label"]: m for m in res["models"]}
    assert set(models) == {"dcgan", "vae"}
    assert sorted(m["rank"] for m in res["models"]) == [1, 2]
    fid = {k: m["scores"]["fid"]["mean"] for k, m in models.items()}
    ranked = sorted(fid, key=fid.get)
    assert [m["label"] for m in res["models"]] == ranked  # ranked by the first metric, lower FID first
    assert models["dcgan"]["scores"]["psnr"] == {"na": "cannot reconstruct"}
    assert models["vae"]["scores"]["psnr"]["mean"] > 0
    assert res["protocols"]["fid"]["n_real"] == 64 and res["protocols"]["fid"]["extractor"] == "lenet-digits"
    assert models["vae"]["budget"] == "0.05 minutes" and models["dcgan"]["steps"]["mean"] == 4
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("rank,model,registered,budget") and len(csv_lines) == 3
    assert "cannot reconstruct" in csv_lines[1] + csv_lines[2]
    md = (out / "results.md").read_text()
    assert "| rank | model | budget | seeds | fid ↓ |" in md and "n/a (cannot reconstruct)" in md
    assert md.count("**") >= 2  # the best of each column is bold
    html = (out / "report.html").read_text()
    assert html.count("<img") >= 2 + 5 and "src=\"http" not in html and len(html) < 2_000_000


def test_protocol_mismatch_is_not_ranked(killed_then_resumed: dict, tmp_path: Path) -> None:
    """A cell scored under another protocol shows n/a in that column, not a number."""
    out = tmp_path / "copy"
    shutil.copytree(killed_then_resumed["out"], out)
    cells = _cells()
    vae = next(c for c in cells if c.model.label == "vae").dir(out) / "result.json"
    result = json.loads(vae.read_text())
    result["scores"]["fid"]["protocol"]["n_fake"] = 32
    vae.write_text(json.dumps(result))
    run = _bench("tiny", "--out", str(out))
    assert run.exit_code == 0 and "2 finished (reused), 0 to run" in run.output
    models = {m["label"]: m for m in json.loads((out / "results.json").read_text())["models"]}
    assert "mean" in models["dcgan"]["scores"]["fid"]
    assert models["vae"]["scores"]["fid"]["na"].startswith("protocol differs")
    assert "n_fake: 32 vs 64" in models["vae"]["scores"]["fid"]["na"]
    assert "mean" in models["vae"]["scores"]["kid"]  # other columns are untouched


def test_a_models_subset_keeps_the_other_finished_rows(killed_then_resumed: dict, tmp_path: Path) -> None:
    """--models limits what runs, not what the report shows: rerunning one model into a finished suite's folder
    keeps the other model's row (it used to rewrite the reports with the chosen model alone)."""
    out = tmp_path / "copy"
    shutil.copytree(killed_then_resumed["out"], out)
    before = json.loads((out / "results.json").read_text())
    run = _bench("tiny", "--models", "vae", "--out", str(out))
    assert run.exit_code == 0, run.output
    assert ("1 model x 1 seed = 1 cell; 1 finished (reused), 0 to run; "
            "the reports keep 1 finished cell of its other models") in run.output
    after = json.loads((out / "results.json").read_text())
    assert [m["label"] for m in after["models"]] == [m["label"] for m in before["models"]]
    assert [m["scores"] for m in after["models"]] == [m["scores"] for m in before["models"]]
    assert [m["label"] for m in after["suite"]["models"]] == ["dcgan", "vae"]
    assert "| dcgan |" in (out / "results.md").read_text().replace("**", "")
    assert after["unreported"] == [] and "not in this report" not in (out / "results.md").read_text()


COMMITTED_CELLS_IGNORE = Path(__file__).resolve().parents[1] / "bench" / ".gitignore"
COMMITTED_SUITES = sorted(p.parent.name for p in COMMITTED_CELLS_IGNORE.parent.glob("*/cells"))


@pytest.mark.parametrize("suite", COMMITTED_SUITES)
def test_every_committed_cell_is_one_the_current_code_would_reuse(suite: str, data_root: Path) -> None:
    """A committed record is reused only under its key; a key change (a new config field that is not
    ``added_later``, a changed default, a version bump) would silently retrain CPU hours on a fresh clone."""
    s = load_suite(suite)
    keys = {c.key[:16] for c in plan(s, extractor_identity(s.protocol, str(data_root), print))}
    committed = {p.name for p in (COMMITTED_CELLS_IGNORE.parent / suite / "cells").iterdir() if p.is_dir()}
    assert committed and committed <= keys, (
        f"bench/{suite}/cells holds records the current code would not reuse: {sorted(committed - keys)}; "
        f"rerun the suite (genzoo bench run {suite} --out bench/{suite}) or keep the old keys")


def test_cell_records_committed_to_git_alone_finish_the_suite_on_a_fresh_clone(killed_then_resumed: dict,
                                                                              tmp_path: Path) -> None:
    """The committed suites under bench/ keep only their finished cells' records in git (bench/.gitignore):
    a clone of them, without weights or checkpoints, reuses every cell and rebuilds the same report."""
    repo, clone = tmp_path / "repo", tmp_path / "clone"
    shutil.copytree(killed_then_resumed["out"], repo / "suite")
    shutil.copy(COMMITTED_CELLS_IGNORE, repo / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "cells"]):
        subprocess.run([*git, *args], cwd=repo, check=True)
    subprocess.run([*git, "clone", "-q", str(repo), str(clone)], check=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=clone, capture_output=True, text=True, check=True).stdout
    assert ".safetensors" not in tracked and "run/metrics.jsonl" in tracked
    # a record names the files it points to relative to its cell, never by the training machine's paths
    records = [p.read_text() for p in (clone / "suite" / "cells").glob("*/result.json")]
    assert len(records) == 2 and not any(str(killed_then_resumed["out"]) in r for r in records)

    run = _bench("tiny", "--out", str(clone / "suite"))
    assert run.exit_code == 0 and "2 finished (reused), 0 to run" in run.output
    before, after = (json.loads((d / "results.json").read_text())["models"]
                     for d in (killed_then_resumed["out"], clone / "suite"))
    assert [m["scores"] for m in after] == [m["scores"] for m in before]
    # Same grids and loss curves: every image of the original report is there.
    assert (clone / "suite" / "report.html").read_text().count("<img") == \
        (killed_then_resumed["out"] / "report.html").read_text().count("<img") >= 7


def test_compare_flags_protocol_change_and_missing_model(killed_then_resumed: dict, tmp_path: Path) -> None:
    a = killed_then_resumed["out"] / "results.json"
    same = _bench("compare", str(a), str(a))
    assert same.exit_code == 0 and "same suite, same protocols, same models" in same.output
    data = json.loads(a.read_text())
    data["protocols"]["kid"]["n_real"] = 32
    data["models"] = [m for m in data["models"] if m["label"] != "vae"]
    b = tmp_path / "b.json"
    b.write_text(json.dumps(data))
    diff = _bench("compare", str(a), str(b), "--json")
    flags = json.loads(diff.output)["flags"]
    assert "PROTOCOL CHANGED for kid: n_real: 64 vs 32" in flags
    assert "model vae missing from B" in flags
    assert not any("fid" in f for f in flags)
    text = _bench("compare", str(a), str(b)).output
    assert "protocol changed" in text and "missing from B" in text


def test_two_likelihood_families_share_one_bits_per_dim_column(env: Path, tmp_path: Path) -> None:
    """bits/dim measures the data under each model the same way: the column ranks Glow and RealNVP,
    including scores written when the protocol still named the model (they read back without it)."""
    out = tmp_path / "out"
    run = _bench("likelihoods", "--out", str(out))
    assert run.exit_code == 0, run.output
    models = json.loads((out / "results.json").read_text())["models"]
    assert all("mean" in m["scores"]["bpd"] for m in models), models
    for result in out.glob("cells/*/result.json"):  # rewritten as genzoo wrote them before 2026-12-07
        data = json.loads(result.read_text())
        assert "model" not in data["scores"]["bpd"]["protocol"]["params"]
        data["scores"]["bpd"]["protocol"]["params"]["model"] = data["model"]
        result.write_text(json.dumps(data))
    again = _bench("likelihoods", "--out", str(out))
    assert again.exit_code == 0 and "2 finished (reused), 0 to run" in again.output
    reread = json.loads((out / "results.json").read_text())
    assert [m["scores"]["bpd"]["mean"] for m in reread["models"]] == [m["scores"]["bpd"]["mean"] for m in models]
    assert "model" not in reread["protocols"]["bpd"]["params"]


def test_failed_cell_is_reported_and_retried(env: Path) -> None:
    out = env / "broken"
    run = _bench("broken", "--out", str(out))
    assert run.exit_code == 1 and "no hub location in the catalog" in run.output, run.output
    assert not list(out.glob("cells/*/result.json")) and len(list(out.glob("cells/*/error.json"))) == 1
    model = json.loads((out / "results.json").read_text())["models"][0]
    assert model["scores"]["fid"]["na"].startswith("failed: ") and model["rank"] is None
    assert "Failed or missing cells" in (out / "results.md").read_text()


@pytest.mark.parametrize(("table", "message"), [
    ({"metrics": ["fid"], "models": ["dcgan-mnist"], "budget": {"steps": 1}}, r"needs data"),
    ({"data": "mnist", "metric": ["fid"], "models": ["dcgan-mnist"]}, r"unknown key\(s\) \['metric'\].*metrics"),
    ({"data": "mnist", "models": ["dcgan-mnist"], "budget": {"steps": 1, "minutes": 2}}, r"\.budget must name exactly"),
    ({"data": "mnist", "models": ["dcgan-mnist"], "budget": {"steps": 0}}, r"\.budget\.steps must be a positive"),
    ({"data": "mnist", "models": ["dcgan-mnist"], "budget": "recipes"}, r"\.budget must be \"recipe\", \"pretrained\""),
    ({"data": "mnist", "models": ["dcgan-mnsit"], "budget": {"steps": 1}}, r"models\[0\]: unknown model.*dcgan-mnist"),
    ({"data": "mnist", "metrics": ["fdi"], "models": ["dcgan-mnist"], "budget": {"steps": 1}}, r"unknown metric 'fdi'"),
    ({"data": "mnist", "seeds": [1, 1], "models": ["dcgan-mnist"], "budget": {"steps": 1}}, r"\.seeds lists a seed"),
    ({"data": "mnist", "models": ["dcgan-mnist"]}, r"models\[0\] has no budget"),
    ({"data": "mnist", "models": ["dcgan-mnist", "dcgan-mnist"], "budget": {"steps": 1}}, r"more than once"),
    ({"data": "mnist", "models": {"a": {"model": "dcgan-mnist", "budget": "pretrained", "config": {"g_width": 8}}}},
     r"models\.a: a pretrained model"),
    ({"data": "mnist", "models": ["dcgan-mnist"], "budget": {"steps": 1}, "eval": {"kid_subsets": 0}},
     r"\.eval\.kid_subsets must be an integer >= 1"),
])
def test_suite_errors_name_file_suite_and_field(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^my/zoo\.toml: \[suites\.s\]" + ".*" + message):
        parse_suite("s", {"features": "lenet-mnist", **table}, "my/zoo.toml")


def test_unknown_suite_and_model_override_errors(env: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown benchmark suite 'tiyn'.*tiny"):
        load_suite("tiyn")
    suite = parse_suite("s", {"data": "digits", "features": "x", "budget": {"steps": 1},
                              "models": [{"model": "dcgan-digits", "config": {"g_wdth": 8}}]}, "z.toml")
    with pytest.raises(ConfigError, match=r"z\.toml: \[suites\.s\] model 'dcgan-digits'.*g_wdth"):
        plan(suite)
    bad = _bench("nosuch")
    assert bad.exit_code != 0 and "unknown benchmark suite 'nosuch'" in bad.output


def test_cell_keys_are_stable_and_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"data": "digits", "features": "f", "n": 64, "seeds": 2, "budget": {"steps": 4},
            "models": {"a": {"model": "dcgan-digits"}, "b": {"model": "vae-mnist"}}}

    def keys(**change: object) -> dict[tuple[str, int], str]:
        return {(c.model.label, c.seed): c.key for c in plan(parse_suite("s", {**base, **change}, "z.toml"))}

    ref = keys()
    assert len(set(ref.values())) == 4 and keys() == ref and all(len(k) == 64 for k in ref.values())
    # another catalog file or description does not matter; the model, config, seed, budget and protocol do
    assert keys(description="other") == ref
    cfg = keys(models={"a": {"model": "dcgan-digits", "config": {"g_width": 8}}, "b": {"model": "vae-mnist"}})
    assert cfg[("a", 0)] != ref[("a", 0)] and cfg[("b", 0)] == ref[("b", 0)]
    same_value = keys(models={"a": {"model": "dcgan-digits", "config": {"g_width": 32}}, "b": {"model": "vae-mnist"}})
    assert same_value == ref  # dcgan-digits already has g_width 32: the resolved config is what counts
    assert keys(seeds=[0, 5])[("a", 0)] == ref[("a", 0)] and keys(seeds=[0, 5])[("a", 5)] != ref[("a", 1)]
    assert set(keys(n=65).values()).isdisjoint(ref.values())  # protocol
    assert set(keys(eval={"kid_subsets": 7}).values()).isdisjoint(ref.values())
    assert set(keys(budget={"steps": 5}).values()).isdisjoint(ref.values())
    assert set(keys(train={"batch_size": 8}).values()).isdisjoint(ref.values())
    import genzoo.core.version

    monkeypatch.setattr(genzoo.core.version, "__version__", "99.0")  # an upgrade may change training code
    assert set(keys().values()).isdisjoint(ref.values())
    monkeypatch.undo()
    suite = parse_suite("s", base, "z.toml")
    other = {c.key for c in plan(suite, {"name": "f", "weights_sha256": "0" * 64})}
    assert other.isdisjoint({c.key for c in plan(suite, {"name": "f", "weights_sha256": "1" * 64})})


def test_a_model_scored_on_part_of_the_suites_metrics(env: Path) -> None:
    """`metrics = [...]` on a model measures only those; the rest are n/a with the reason, not computed.
    A recipe budget's row says how many steps the recipe came to."""
    out = env / "part"
    result = _bench("part", "--out", str(out))
    assert result.exit_code == 0, result.output
    model = json.loads((out / "results.json").read_text())["models"][0]
    assert model["scores"]["fid"]["na"] == "not measured in this suite" and model["scores"]["kid"]["mean"] is not None
    assert model["budget"] == "recipe (2 steps)" and "| recipe (2 steps) |" in (out / "results.md").read_text()
    cell = next(out.glob("cells/*/result.json")).parent
    assert json.loads((cell / "result.json").read_text())["grid"] == ""  # its recipe's sample_grid is 0
    assert not (cell / "grid.png").exists()
    with pytest.raises(ConfigError, match=r"models\[0\]\.metrics: bpd not among the suite's metrics"):
        parse_suite("s", {"data": "mnist", "features": "f", "metrics": ["fid"], "budget": {"steps": 1},
                          "models": [{"model": "vae-mnist", "metrics": ["bpd"]}]}, "z.toml")
    base = {"data": "mnist", "features": "f", "metrics": ["fid", "bpd"], "budget": {"steps": 1}}
    whole = plan(parse_suite("s", {**base, "models": ["vae-mnist"]}, "z.toml"))[0]
    part = plan(parse_suite("s", {**base, "models": [{"model": "vae-mnist", "metrics": ["bpd"]}]}, "z.toml"))[0]
    assert "metrics" not in whole.identity and part.key != whole.key


def test_a_recipe_budget_trains_each_model_as_long_as_its_registered_recipe() -> None:
    """budget = "recipe" leaves every model's own train.steps in place (mnist-standard's budget); a model's own
    budget still wins, and the resolved length is in the cell key, so changing a recipe reruns its cells."""
    suite = parse_suite("s", {"data": "mnist", "features": "f", "budget": "recipe",
                              "models": ["dcgan-mnist", "vanilla-gan-mnist",
                                         {"model": "vae-mnist", "budget": {"steps": 7}}]}, "z.toml")
    cells = {c.model.label: c for c in plan(suite, {"name": "f"})}
    steps = {label: c.identity["resolved"]["train"]["steps"] for label, c in cells.items()}
    assert steps == {"dcgan-mnist": 3000, "vanilla-gan-mnist": 10000, "vae-mnist": 7}
    assert cells["dcgan-mnist"].model.budget.describe() == "recipe"
    standard = {c.model.label: c.identity["resolved"]["train"]["steps"] for c in plan(load_suite("mnist-standard"))}
    assert "stylegan2-mnist" not in standard and standard["wgan-gp-mnist"] == 5000 and len(standard) == 9
    assert standard["dcgan-mnist-hinge-sn"] == 6000  # a zoo.toml variant's own recipe


def _worker_threads() -> tuple[int, str]:
    import torch

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS", "")


def test_parallel_workers_split_the_cores() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from genzoo.benchmark.runner import _init_worker

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(1,)) as pool:
        assert pool.submit(_worker_threads).result(timeout=300) == (1, "1")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars"]


def test_report_renders_in_headless_chromium(killed_then_resumed: dict, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (tools/ensure_chromium.sh installs the Debian packages "
                    "chromium and chromium-driver; `make test` runs it)")
    report = killed_then_resumed["out"] / "report.html"
    url = report.resolve().as_uri()
    flags = [*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=5000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1)))
    n_img = report.read_text().count("<img")
    assert attrs.get("rendered") == "yes"
    assert int(attrs["images-total"]) == n_img >= 7
    assert int(attrs["images"]) == n_img  # every image decoded (naturalWidth > 0)
    assert int(attrs["table-rows"]) == 2
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,3000", url],
                   capture_output=True, timeout=120)
    from PIL import Image

    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        assert rgb.size == (1200, 3000)
        colors = rgb.getcolors(maxcolors=1 << 20)
    assert len(colors) > 200  # text, plots and grids, not a blank page
    assert any(abs(r - 230) < 4 and abs(g - 244) < 4 and abs(b - 234) < 4 for _, (r, g, b) in colors)  # best cell
