"""What running a suite's cells on Ray or through submitit costs over the local executor, for the same suite.

One small suite (two reconstructing models on scikit-learn's digits, 200 steps each, PSNR on 256 test
images) is run three times into fresh folders: the local executor (in this process), Ray (a local
instance started by ``ray.init``, 2 CPUs; start-up counted) and submitit's local executor (the
Slurm path without Slurm: one job array, a process per cell). Each cell's own wall time is in its
result.json, so "overhead" is the run's wall time minus the slowest cell (the cells run in parallel
on Ray and submitit, one after another locally: local overhead is wall minus the sum). The scores
must agree to the last digit: the executors only decide where the same cells run.

    .venv/bin/python bench/executors_overhead.py [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import ray
import torch

from genzoo.benchmark.executors import RayExecutor, SlurmExecutor
from genzoo.benchmark.runner import run_suite
from genzoo.benchmark.suite import load_suite

SUITE = """
[suites.overhead]
data = "digits"
metrics = ["psnr"]
n = 256
budget = {{ steps = {steps} }}
train = {{ batch_size = 32 }}
resources = {{ cpus_per_task = 1 }}
models = [{{ model = "vae-mnist", config = {{ width = 8 }} }}, {{ model = "ae-mnist" }}]
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="genzoo-executors-"))
    (root / "suite.toml").write_text(SUITE.format(steps=args.steps))
    os.environ["GENZOO_CATALOG"] = str(root / "suite.toml")
    suite = load_suite("overhead")
    load = os.getloadavg()[0]
    rows = []
    for name, make in (("local", lambda: None),
                       ("ray (local instance, 2 CPUs)", lambda: RayExecutor("", suite.resources)),
                       ("submitit local (Slurm path)",
                        lambda: SlurmExecutor("", suite.resources, folder=root / "slurm", cluster="local"))):
        t0 = time.perf_counter()
        if name.startswith("ray"):  # its start-up is part of what is measured
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        out = root / name.split()[0]
        summary = run_suite(suite, out, log=lambda m: None, executor=make())
        wall = time.perf_counter() - t0
        if name.startswith("ray"):
            ray.shutdown()
        cells = [json.loads(p.read_text()) for p in sorted(out.glob("cells/*/result.json"))]
        own = [c["wall_seconds"] for c in cells]
        overhead = wall - (sum(own) if name == "local" else max(own))
        scores = {m["label"]: round(m["scores"]["psnr"]["mean"], 6) for m in summary["models"]}
        rows.append((name, wall, own, overhead, scores))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"torch {torch.__version__}; load average before: {load:.2f}")
    print("| executor | run wall s | cells' own wall s | overhead s | psnr per model |")
    print("|---|---:|---|---:|---|")
    for name, wall, own, overhead, scores in rows:
        print(f"| {name} | {wall:.1f} | {', '.join(f'{s:.1f}' for s in own)} | {overhead:.1f} | {scores} |")


if __name__ == "__main__":
    main()
