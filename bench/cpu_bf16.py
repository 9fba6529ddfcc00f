"""train.precision=bf16 on a CPU: is the same run faster, and is the model as good?

CPUs with AVX512-BF16 or AMX run bfloat16 convolutions faster than fp32 ones, and the CPU
hours of the CIFAR-10 suites go almost all to convolutions, forward and backward. Speed alone
would not justify the switch: the flows' log-determinants and PixelCNN's 256-way softmax are
where reduced precision could cost likelihood.
So each MODEL trains twice from the same seed on the same batches, once per precision, and
both are scored the way bench/families.py scores a family (exact test bits/dim for flows and
PixelCNN, FID/precision/recall of ``--n`` samples for GANs, always in fp32). The img/s column is
the trainer's own training rate (optimiser steps x batch / training seconds), so the fp32 final
grid and the scoring do not dilute the ratio.

    OMP_NUM_THREADS=1 .venv/bin/python bench/cpu_bf16.py realnvp-mnist glow-mnist --steps 300 \\
        --data-root /work/shared/data --threads 1
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from genzoo.evaluation.during_training import training_evaluator

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench scripts are not a package
from families import bench_one, machine, parse_runs, runs_parser


def cpu_flags() -> str:
    """The CPU's bf16 instructions, as /proc/cpuinfo names them (empty: none, or not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next(line.split(":", 1)[1].split() for line in f if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(f for f in flags if f in ("avx512_bf16", "amx_bf16", "amx_tile")) or "none"


def main() -> None:
    args = parse_runs(runs_parser(__doc__))
    args.quiet = True
    load_before = os.getloadavg()[0]
    evaluate = training_evaluator("mnist", metrics="fid,pr", n=args.n, data_root=args.data_root)
    print(f"| model, {args.steps} steps | precision | training img/s | speed-up | quality on MNIST test | final losses "
          "| grid |\n|---|---|---:|---:|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="genzoo-bf16-") as tmp:
        for name in args.models:
            fp32 = None
            for precision in ("fp32", "bf16"):
                args.precision = precision
                row = bench_one(name, args, Path(tmp), evaluate, grid_name=f"cpu-bf16-{name}-{precision}")
                fp32 = fp32 or row
                losses = ", ".join(f"{k} {v:.4g}" for k, v in row["losses"].items())
                speedup = row["train_images_per_s"] / fp32["train_images_per_s"]
                print(f"| {name} x {row['batch']} | {precision} | {row['train_images_per_s']:.1f} | {speedup:.2f}x | "
                      f"{row['quality'].rstrip('; ')} | {losses} | ![]({row['grid']}) |", flush=True)
    print(f"\nMachine: {machine(load_before)}; bf16 instructions: {cpu_flags()}.")


if __name__ == "__main__":
    main()
