"""`genzoo bench --executor`: the same suite run by the local pool, by a Ray instance this file starts and by
submitit's local executor (the Slurm path, with no Slurm here) gives the same cells and the same scores;
the sbatch script the Slurm path writes carries the suite's resources; two executors sharing one output
folder never run one cell twice; a missing engine is named in one line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from genzoo.benchmark.executors import RayExecutor, SlurmExecutor, parse_executor
from genzoo.benchmark.runner import run_suite
from genzoo.benchmark.suite import Resources, load_suite, parse_suite
from genzoo.cli import cli
from genzoo.core.errors import ConfigError

SUITES = """
[suites.pair]
description = "two tiny models on digits"
data = "digits"
metrics = ["fid", "kid"]
features = "{evaluator}"
n = 64
budget = {{ steps = 4 }}
train = {{ batch_size = 16 }}
eval = {{ kid_subsets = 5, kid_subset_size = 32, batch_size = 64 }}
resources = {{ timeout_min = 30, cpus_per_task = 1, mem_gb = 2 }}

[suites.pair.models.dcgan]
model = "dcgan-digits"
config = {{ g_width = 8, d_width = 8 }}

[suites.pair.models.vae]
model = "vae-mnist"
config = {{ width = 8, latent_dim = 4 }}
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, digits_evaluator: Path):
    """A catalog with the pair suite, scored with the (barely) trained LeNet evaluator for digits; the local
    run's summary."""
    root = tmp_path_factory.mktemp("executors")
    catalog = root / "suites.toml"
    catalog.write_text(SUITES.format(evaluator=digits_evaluator), encoding="utf-8")
    old = os.environ.get("GENZOO_CATALOG")
    os.environ["GENZOO_CATALOG"] = str(catalog)
    local = run_suite(load_suite("pair"), root / "local", log=lambda m: None)
    yield {"root": root, "local": local}
    if old is None:
        os.environ.pop("GENZOO_CATALOG", None)
    else:
        os.environ["GENZOO_CATALOG"] = old


def _scores(summary: dict) -> dict:
    """Per cell: its key and every score's value, as the reports hold them."""
    return {(c["label"], c["seed"]): (c["key"], c["status"]) for c in summary["cells"]} | {
        (m["label"], "scores"): {k: v.get("mean") for k, v in m["scores"].items()} for m in summary["models"]}


def test_suite_resources_are_parsed_and_checked(env: dict) -> None:
    suite = load_suite("pair")
    assert suite.resources == Resources(timeout_min=30, cpus_per_task=1, gpus_per_node=0, mem_gb=2.0)
    assert suite.select("vae").resources == suite.resources and suite.with_seeds(2).resources == suite.resources
    bad = {"data": "digits", "models": ["dcgan-digits"], "budget": {"steps": 1}, "resources": {"gpus": 1}}
    with pytest.raises(ConfigError, match=r"\[suites.x\].resources has unknown key\(s\) \['gpus'\]"):
        parse_suite("x", bad, "f.toml")
    with pytest.raises(ConfigError, match="must be an executor|use local, ray"):
        parse_executor("kubernetes")
    assert parse_executor("local") is None
    assert isinstance(parse_executor("ray:auto"), RayExecutor) and parse_executor("ray:auto").address == "auto"
    assert parse_executor("slurm:gpu").partition == "gpu"


@pytest.mark.slow
def test_ray_runs_the_suite_and_reports_what_the_local_pool_reports(env: dict) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2, log_to_driver=False,
             configure_logging=False)
    try:
        lines: list[str] = []
        suite = load_suite("pair")
        summary = run_suite(suite, env["root"] / "ray", log=lines.append, executor=RayExecutor("", suite.resources))
    finally:
        ray.shutdown()
    assert summary["executor"].startswith("ray") and "running 2 cells on ray" in "\n".join(lines)
    assert _scores(summary) == _scores(env["local"])  # same cells, same keys, same scores
    results = sorted((env["root"] / "ray").glob("cells/*/result.json"))
    assert len(results) == 2 and all(json.loads(p.read_text())["threads"] == 1 for p in results)
    again = run_suite(suite, env["root"] / "ray", log=lines.append, executor=RayExecutor("", suite.resources))
    assert "2 finished (reused), 0 to run" in lines[-1] or any("2 finished (reused)" in x for x in lines)
    assert _scores(again) == _scores(env["local"])


@pytest.mark.slow
def test_slurm_path_runs_a_cell_through_submitit(env: dict, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    suite = load_suite("pair").select("dcgan")
    out = env["root"] / "slurm"
    executor = SlurmExecutor("gpu", suite.resources, folder=out / "slurm", cluster="local")
    summary = run_suite(suite, out, log=lambda m: None, executor=executor)
    local = {k: v for k, v in _scores(env["local"]).items() if k[0] == "dcgan"}
    assert _scores(summary) == local
    assert list((out / "slurm").glob("*/*_log.out"))  # submitit's job logs, beside the cells


def test_the_sbatch_script_carries_the_suites_resources(env: dict, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    submitit = pytest.importorskip("submitit")
    # There is no Slurm here: let submitit believe srun exists, so that it renders (never submits) the script.
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 2))
    resources = Resources(timeout_min=45, cpus_per_task=4, gpus_per_node=1, mem_gb=16)
    ex = SlurmExecutor("gpu-a100", resources, folder=tmp_path).executor(tmp_path / "%j", "genzoo-bench-7-cells", 7)
    slurm = ex._executor  # the SlurmExecutor behind submitit's AutoExecutor
    slurm.parameters["map_count"] = 7  # what map_array sets for an array of 7 cells
    script = slurm._make_submission_file_text("python -u -m submitit.core._submit FOLDER", "uid")
    lines = set(script.splitlines())
    for line in ("#SBATCH --partition=gpu-a100", "#SBATCH --time=45", "#SBATCH --cpus-per-task=4",
                 "#SBATCH --gpus-per-node=1", "#SBATCH --mem=16GB", "#SBATCH --array=0-6%7",
                 "#SBATCH --job-name=genzoo-bench-7-cells"):
        assert line in lines, script


@pytest.mark.slow
def test_two_executors_sharing_one_folder_run_each_cell_once(env: dict) -> None:
    """Two runs of the suite into one folder at once (threads here; processes or machines alike, as the
    claim is an OS file lock): every cell is trained by one of them and reused by the other."""
    out = env["root"] / "shared"
    logs: list[list[str]] = [[], []]
    runs = [threading.Thread(target=run_suite, args=(load_suite("pair"), out), kwargs={"log": logs[i].append})
            for i in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join(300)
    text = "\n".join(line for log in logs for line in log)
    trained = [line for line in text.splitlines() if " steps in " in line and "reused" not in line]
    reused = [line for line in text.splitlines() if "finished by another executor; reused" in line]
    assert len(trained) == 2, text
    assert len(reused) + text.count("1 finished (reused)") * 1 + text.count("2 finished (reused)") * 2 == 2, text
    assert len(list(out.glob("cells/*/result.json"))) == 2


@pytest.mark.parametrize(("spec", "module", "extra"), [("ray", "ray", "ray"), ("slurm:gpu", "submitit", "slurm")])
def test_a_missing_engine_is_named_in_one_line(env: dict, spec: str, module: str, extra: str,
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what Python does for a package that is not installed
    r = CliRunner().invoke(cli, ["bench", "pair", "--models", "dcgan", "--out", str(tmp_path / "o"),
                                 "--executor", spec])
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1] == \
        f"Error: --executor {spec.split(':')[0]} needs {module}, which is not installed: pip install 'genzoo[{extra}]'"
