"""Train any registered models on MNIST for the same number of steps and compare them.

For each MODEL: wall time, images/s, the final logged losses, a Fréchet distance between
Gaussian fits of 7x7-pooled pixels of 1,000 samples and 1,000 MNIST test images (the
cheap feature-statistics distance from tests/gan_quality.py: lower is closer to the data;
train-vs-test MNIST scores ~0.6), test-set bits/dim for models with ``log_prob``, and the
final sample grid copied to bench/grids/MODEL.png. A markdown section is appended to
bench/RESULTS.md.

    .venv/bin/python bench/families.py dcgan-mnist vanilla-gan-mnist --steps 300 --batch 64 \\
        --data-root /work/shared/data [--threads 1] [--no-record]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo
from genzoo.core.data.transforms import normalize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from gan_quality import fd_to_data, real_images  # noqa: E402

N_EVAL = 1000


def bits_per_dim(model, data_root: str) -> float:
    """Mean -log2 p(x) / D over the first 1,000 MNIST test images, normalised as the model trains."""
    size, channels = model.config.image_size, model.config.channels
    pre = model.meta["preprocessing"]
    test = genzoo.load_data("mnist", image_size=size, channels=channels, split="test", root=data_root,
                            resize=pre.get("resize", "resize")).subset(N_EVAL)
    g = torch.Generator().manual_seed(0)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, N_EVAL, 200):
            x = normalize(test.images[i:i + 200], pre["normalize"], generator=g).to(model.device)
            total += float(model.log_prob(x).double().sum())
    dims = channels * size * size
    return -total / (N_EVAL * dims * math.log(2))


def sample_fd(model, data_root: str) -> float:
    size, channels = model.config.image_size, model.config.channels
    real, _ = real_images(data_root, N_EVAL, image_size=size, channels=channels)
    labels = None
    if "conditional" in model.capabilities:
        labels = torch.arange(N_EVAL) % getattr(model.config, "num_classes", 10)
    return fd_to_data(model, real, n=N_EVAL, labels=labels)


def bench_one(name: str, args: argparse.Namespace, workdir: Path) -> dict:
    run_dir = workdir / name
    train = {"sample_every": 0, "checkpoint_every": 0, "batch_size": args.batch, "log_every": args.steps,
             "seed": args.seed}
    start = time.perf_counter()
    result = genzoo.train(name, "mnist", steps=args.steps, out=run_dir, train=train, data_root=args.data_root,
                          progress=not args.quiet)
    wall = time.perf_counter() - start
    model = genzoo.create_model(str(run_dir))  # what a user gets back: EMA weights where kept
    row = {
        "model": name, "family": model.family, "steps": result.step, "batch": args.batch, "wall_s": wall,
        "images_per_s": result.step * args.batch / wall,
        "trainer_images_per_s": result.logs.get("images_per_s", float("nan")),
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "losses": {k: v for k, v in result.logs.items() if k not in ("images_per_s", "skipped_steps")},
        "fd": sample_fd(model, args.data_root) if "sample" in model.capabilities else None,
        "bits_per_dim": bits_per_dim(model, args.data_root) if "log_prob" in model.capabilities else None,
    }
    grids = sorted((run_dir / "samples").glob("step-*.png"))
    if grids:
        (HERE / "grids").mkdir(exist_ok=True)
        shutil.copyfile(grids[-1], HERE / "grids" / f"{name}.png")
        row["grid"] = f"bench/grids/{name}.png"
    return row


def _fmt(v, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table(rows: list[dict]) -> str:
    lines = [
        "| model | params (M) | steps x batch | wall s | img/s | final losses | FD 7x7 (lower=better) "
        "| bits/dim | grid |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in rows:
        losses = ", ".join(f"{k} {v:.3g}" for k, v in r["losses"].items())
        lines.append(
            f"| {r['model']} | {r['params_M']:.2f} | {r['steps']} x {r['batch']} | {r['wall_s']:.0f} | "
            f"{r['images_per_s']:.0f} | {losses} | {_fmt(r['fd'], '.2f')} | {_fmt(r['bits_per_dim'], '.3f')} | "
            f"{'![](' + r['grid'].removeprefix('bench/') + ')' if r.get('grid') else '-'} |"
        )
    return "\n".join(lines)


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, nproc={os.cpu_count()}, {gpu}; torch threads={torch.get_num_threads()}; "
            f"load average at the end {load[0]:.1f} (CPU shared with other jobs)")


def record(rows: list[dict], args: argparse.Namespace, argv: list[str]) -> None:
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    section = "\n".join([
        "", f"## Model families on MNIST, {args.steps} steps each (bench/families.py)", "",
        f"Command: `.venv/bin/python bench/families.py {shlex.join(argv)}`", "",
        f"Date: {date}. Machine: {machine()}. Python {platform.python_version()}, torch {torch.__version__}.", "",
        table(rows), "",
        "img/s = generator steps x batch / wall time including data loading and the final checkpoint "
        "(a WGAN-GP step also runs its critic n_critic=5 times on fresh batches). FD 7x7: Fréchet distance "
        f"between Gaussian fits of 7x7 average-pooled pixels of {N_EVAL} samples (EMA weights where kept; "
        f"conditional models: classes cycled) and the first {N_EVAL} MNIST test images; MNIST train vs "
        "test gives ~0.6, an untrained DCGAN ~37. Not an FID: compare only within this table.", "",
    ])
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", metavar="MODEL", help="registered model names (see `genzoo list`)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    unknown = [m for m in args.models if m not in genzoo.list_models()]
    if unknown:
        p.error(f"unknown models {unknown}; see `genzoo list`")
    rows = []
    with tempfile.TemporaryDirectory(prefix="genzoo-bench-") as tmp:
        for name in args.models:
            row = bench_one(name, args, Path(tmp))
            rows.append(row)
            print(f"{name}: {row['wall_s']:.0f} s, {row['images_per_s']:.0f} img/s, FD {_fmt(row['fd'], '.2f')}, "
                  f"bpd {_fmt(row['bits_per_dim'], '.3f')}, losses {row['losses']}", flush=True)
    print(table(rows))
    if not args.no_record:
        record(rows, args, argv)
        print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
