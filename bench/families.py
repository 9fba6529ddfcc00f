"""Train registered models on MNIST for a fixed number of steps each and put them in one table.

For each MODEL: its family, parameter count, wall time, images/s, the final logged losses,
the quality measure its family is judged by on the MNIST test split, the published figure
where there is one, and a grid of what it makes (bench/grids/MODEL.png):

- models that sample: FID, precision and recall of ``--n`` samples (EMA weights where kept;
  conditional models: classes cycled) against the test split, in the zoo's LeNet-MNIST
  evaluator's features (MNIST train vs test scores FID 2.1 there); not for PixelCNN, whose
  samples cost one network pass per pixel (its grid shows 16);
- models with ``log_prob``: test bits/dim and NLL in nats per image on the first ``--n`` test
  images (flows and PixelCNN: exact, on fixed-seed dequantised 8-bit pixels; VAE: the IWAE bound
  on binarised pixels, its bits per binary pixel);
- the denoising autoencoder: PSNR of denoised vs clean test digits (noisy input in brackets) at
  the noise it was trained against, and a grid of clean | noisy | denoised rows, as ``genzoo
  denoise`` computes them;
- CycleGAN (mnist-inverted): PSNR of A->B against the exact inverse 255 - x, and a grid of
  A | A->B | B | B->A rows.

Each model trains on its registered data set at its recipe's batch size unless --batch is given.
A markdown section is appended to bench/RESULTS.md.

    .venv/bin/python bench/families.py dcgan-mnist vanilla-gan-mnist --steps 300 \\
        --data-root /work/shared/data [--threads 1] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo
from genzoo.core.flows import bits_per_dim
from genzoo.core.image_quality import mean_finite, psnr
from genzoo.core.images import save_grid
from genzoo.evaluation.during_training import training_evaluator
from genzoo.zoo import get_zoo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench scripts are not a package
from reference import save_samples, test_log_prob  # noqa: E402
from reference_image2image import dae_test, denoise, translate8  # noqa: E402

# The published MNIST figures the issue asks to stand beside ours, with what they cost.
PUBLISHED = {
    "realnvp": "1.06 bits/dim (Dinh et al. 2017; Glow paper's table, ~hundreds of epochs)",
    "glow": "1.05 bits/dim (Kingma & Dhariwal 2018, ~hundreds of epochs)",
    "vae": "≈ 89.8 nats (binarised MNIST, thousands of epochs)",
}


def test_images(args: argparse.Namespace) -> torch.Tensor:
    return genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root).images[:args.n]


def likelihood(model, test8: torch.Tensor) -> str:
    """Test bits/dim and nats per image (reference.test_log_prob: the images normalised as the model trains)."""
    log_p = test_log_prob(model, test8)
    bpd = bits_per_dim(log_p, test8[0].numel()).mean().item()
    return f"{bpd:.3f} bits/dim ({-log_p.mean().item():.1f} nats)"


def denoising(model, args: argparse.Namespace, grid: Path) -> str:
    """At the noise level the model was trained against (its config's gaussian noise_std)."""
    noise = model.config.noise_std
    clean8, noisy8 = dae_test(argparse.Namespace(data_root=args.data_root, n=args.n, noise=noise))
    out8 = denoise(model, noisy8)
    save_grid(torch.cat([clean8[:8], noisy8[:8], out8[:8]]), grid, nrow=8)
    before, after = (mean_finite(psnr(clean8.float(), x.float(), 255.0)) for x in (noisy8, out8))
    return f"PSNR {after:.2f} dB (noisy input {before:.2f}), gaussian noise {noise:g}"


def translation(model, test8: torch.Tensor, grid: Path) -> str:
    """mnist-inverted's ground truth: A->B of x is 255 - x (B->A the reverse)."""
    half = len(test8) // 2
    a8, b8 = test8[:half], 255 - test8[half:]
    ab8, ba8 = translate8(model.eval(), a8, "a2b"), translate8(model, b8, "b2a")
    save_grid(torch.cat([a8[:8], ab8[:8], b8[:8], ba8[:8]]), grid, nrow=8)
    ab, ba = (mean_finite(psnr(t.float(), y.float(), 255.0)) for t, y in ((255 - a8, ab8), (255 - b8, ba8)))
    return f"PSNR A->B {ab:.2f} dB, B->A {ba:.2f} dB vs the exact inverse"


def bench_one(name: str, args: argparse.Namespace, workdir: Path, evaluate, grid_name: str = "") -> dict:
    entry = get_zoo().model(name)
    batch = args.batch or entry.recipe["batch_size"]
    run_dir = workdir / (grid_name or name)
    train = {"sample_every": 0, "checkpoint_every": 0, "batch_size": batch, "log_every": args.steps,
             "seed": args.seed, "precision": args.precision}
    start = time.perf_counter()
    result = genzoo.train(name, entry.data or "mnist", steps=args.steps, out=run_dir, train=train,
                          data_root=args.data_root, progress=not args.quiet)
    wall = time.perf_counter() - start
    model = genzoo.create_model(str(run_dir))  # what a user gets back: EMA weights where kept
    (HERE / "grids").mkdir(exist_ok=True)
    grid = HERE / "grids" / f"{grid_name or name}.png"
    test8 = test_images(args)
    caps = model.capabilities
    if "sample" in caps:
        autoregressive = model.family == "pixelcnn"  # one network pass per pixel: no 2,000-sample FID on a CPU
        save_samples(model, grid, 16 if autoregressive else 64)
        quality = ""
        if not autoregressive:
            s = {x.name: x.value for x in evaluate(model)}
            quality = f"FID {s['fid']:.1f}, P {s['precision']:.2f} / R {s['recall']:.2f}; "
        if "log_prob" in caps:
            quality += likelihood(model, test8)
    elif "translate" in caps:
        quality = translation(model, test8, grid)
    else:
        quality = denoising(model, args, grid)
    return {
        "model": name, "family": model.family, "steps": result.step, "batch": batch, "wall_s": wall,
        "images_per_s": result.step * batch / wall, "train_images_per_s": result.logs["images_per_s"],
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "losses": {k: v for k, v in result.logs.items() if k not in ("images_per_s", "skipped_steps")},
        "quality": quality, "published": PUBLISHED.get(model.family, "-"),
        "grid": f"grids/{grid.name}",
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| model | family | params (M) | steps x batch | wall s | img/s | final losses | quality on MNIST test "
        "| published | grid |",
        "|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        losses = ", ".join(f"{k} {v:.3g}" for k, v in r["losses"].items())
        lines.append(
            f"| {r['model']} | {r['family']} | {r['params_M']:.2f} | {r['steps']} x {r['batch']} | "
            f"{r['wall_s']:.0f} | {r['images_per_s']:.0f} | {losses} | {r['quality']} | {r['published']} | "
            f"![]({r['grid']}) |"
        )
    return "\n".join(lines)


def machine(load_before: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, nproc={os.cpu_count()}, {gpu}; torch threads={torch.get_num_threads()}; "
            f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")


def record(rows: list[dict], args: argparse.Namespace, argv: list[str], load_before: float) -> None:
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    section = "\n".join([
        "", f"## Model families on MNIST, {args.steps} steps each (bench/families.py)", "",
        f"Command: `.venv/bin/python bench/families.py {shlex.join(argv)}`", "",
        f"Date: {date}. Machine: {machine(load_before)}. Python {platform.python_version()}, "
        f"torch {torch.__version__}.", "",
        table(rows), "",
        "img/s = optimiser steps x batch / wall time including data loading and the final checkpoint (a WGAN-GP "
        "step also runs its critic n_critic=5 times on fresh batches). Quality on the MNIST test split: see the "
        f"docstring of bench/families.py; n = {args.n}.", "",
    ])
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")


def runs_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of a script that trains and scores MODELs as bench_one does (this one, cpu_bf16.py)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("models", nargs="+", metavar="MODEL", help="registered model names (see `genzoo list`)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=0, help="batch size; 0 = each recipe's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=2000, help="samples and test images scored")
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    return p


def parse_runs(p: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if unknown := [m for m in args.models if m not in genzoo.list_models()]:
        p.error(f"unknown models {unknown}; see `genzoo list`")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = runs_parser(__doc__)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="train.precision of every run")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parse_runs(p, argv)
    load_before = os.getloadavg()[0]
    evaluate = training_evaluator("mnist", metrics="fid,pr", n=args.n, data_root=args.data_root)
    rows = []
    with tempfile.TemporaryDirectory(prefix="genzoo-bench-") as tmp:
        for name in args.models:
            row = bench_one(name, args, Path(tmp), evaluate)
            rows.append(row)
            print(f"{name}: {row['wall_s']:.0f} s, {row['images_per_s']:.0f} img/s, {row['quality']}, "
                  f"losses {row['losses']}", flush=True)
    print(table(rows))
    if not args.no_record:
        record(rows, args, argv, load_before)
        print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
