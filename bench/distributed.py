"""Images per second of one training process against N torchrun processes, same global batch.

    python bench/distributed.py [--model dcgan-mnist] [--data mnist] [--steps 300] [--batch 128] [--nproc 2]

Three real `genzoo train` runs on the same machine, one after the other, with the same recipe
and global batch: one process with one torch thread, one process with N threads (all the cores
used the usual way, intra-op), and N processes with one thread each (torchrun, gloo). images/s
is read from the runs' own logs (metrics.jsonl), skipping the first log interval (start-up and
allocation). Needs the whole machine: run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args: argparse.Namespace, nproc: int, threads: int, out: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "genzoo", "train", args.model, "--data", args.data, "--steps", str(args.steps),
           "--out", str(out), "--set", f"train.batch_size={args.batch}", "--set", "train.log_every=25",
           "--set", "train.sample_every=0", "--set", "train.sample_grid=0", "--set", "train.checkpoint_every=0",
           *(["--nproc", str(nproc)] if nproc > 1 else [])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    logs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [e["images_per_s"] for e in logs if "images_per_s" in e][1:]
    return statistics.median(rates), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="dcgan-mnist")
    p.add_argument("--data", default="mnist")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--nproc", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(1, 1, *run(args, 1, 1, Path(tmp) / "a")), (1, args.nproc, *run(args, 1, args.nproc, Path(tmp) / "b")),
                (args.nproc, 1, *run(args, args.nproc, 1, Path(tmp) / "c"))]
    print(f"{args.model} on {args.data}, global batch {args.batch}, {args.steps} steps, {os.cpu_count()} CPUs")
    print("| processes | threads each | images/s (median) | wall s (incl. start-up) |")
    print("|---|---|---|---|")
    for procs, threads, rate, wall in rows:
        print(f"| {procs} | {threads} | {rate:.0f} | {wall:.1f} |")
    base = rows[0][2]
    print(f"speed-up over 1 process x 1 thread: {rows[1][2] / base:.2f}x (threads), {rows[2][2] / base:.2f}x "
          f"(processes)")


if __name__ == "__main__":
    main()
