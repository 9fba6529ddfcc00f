"""`genzoo import` at the official sizes: import time, forward equality with the upstream maths, CPU time per image.

Checkpoints are written in the upstream key layouts at full size with random weights (no official file
can be downloaded here): a resnet_9blocks CycleGAN generator (ngf 64) as junyanz/pytorch-CycleGAN-and-pix2pix
saves it, and rosinality/stylegan2-pytorch checkpoints of config F at 256 and 1024 pixels (g_ema +
latent_avg). Each is imported with the real command in a fresh process (``genzoo import``, wall time
including the interpreter start), then compared with the functional references of tests/test_import.py
(max abs difference, float32, eval, fixed noise), and timed per image on one thread.

    OMP_NUM_THREADS=1 .venv/bin/python bench/import_speed.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import test_import as ref  # noqa: E402  (the functional references the tests check against)


def cli_import(fmt: str, path: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genzoo.cli", "import", fmt, str(path), "--out", str(out)], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def per_image(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def rosinality_layout(size: int) -> dict:
    """A config-F generator's tensors under rosinality's keys: the zoo's names plus its stored blur kernels."""
    from genzoo.plugins.stylegan2.config import StyleGAN2Config
    from genzoo.plugins.stylegan2.model import Generator

    torch.manual_seed(0)
    g = Generator(StyleGAN2Config(image_size=size))  # the defaults are config F
    for name, p in g.named_parameters():
        if name.endswith("noise.weight"):
            p.data.normal_(0, 0.3)  # the zoo starts them at 0; trained networks have non-zero strengths
    state = {k: v.clone() for k, v in g.state_dict().items() if k != "w_avg"}
    state.update({k: v.clone() for k, v in g.named_buffers() if k.endswith("kernel")})
    return state


def main() -> None:
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="genzoo-import-bench-"))
    rows = []

    official = ref.official_cyclegan_state(ngf=64, n_blocks=9, stale=True)
    torch.save(official, tmp / "horse2zebra.pth")
    seconds = cli_import("cyclegan", tmp / "horse2zebra.pth", tmp / "h2z")
    model = genzoo.create_model(str(tmp / "h2z"))
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        y = model.translate(x)
        diff = (y - ref.reference_resnet_generator(official, x, 9)).abs().max().item()
        t = per_image(lambda: model.translate(x))
    rows.append({"format": "cyclegan", "file": "resnet_9blocks ngf 64", "mb": round((tmp / "horse2zebra.pth")
                 .stat().st_size / 2**20, 1), "import_s": round(seconds, 2), "max_abs_diff": diff,
                 "max_abs_output": round(y.abs().max().item(), 3),
                 "cpu_s_per_image": round(t, 3), "what": "one 256x256 translation"})
    print(json.dumps(rows[-1]), flush=True)

    for size in (256, 1024):
        g = rosinality_layout(size)
        avg = torch.randn(512, generator=torch.Generator().manual_seed(1)) * 0.5
        torch.save({"g_ema": g, "latent_avg": avg}, tmp / f"stylegan2-{size}.pt")
        seconds = cli_import("stylegan2", tmp / f"stylegan2-{size}.pt", tmp / f"sg{size}")
        row = {"format": "stylegan2", "file": f"config F {size}px g_ema", "mb": round((tmp / f"stylegan2-{size}.pt")
               .stat().st_size / 2**20, 1), "import_s": round(seconds, 2)}
        if size == 256:
            model = genzoo.create_model(str(tmp / "sg256"))
            z = torch.randn(2, 512, generator=torch.Generator().manual_seed(5))
            with torch.no_grad():
                ours = model.generator.synthesis(model.w_plus(z, 0.5), [m.expand(2, -1, -1, -1)
                                                                       for m in model.generator.fixed_noise()])
                row["max_abs_diff"] = (ours - ref.reference_generator(g, z, avg, 0.5)).abs().max().item()
                row["max_abs_output"] = round(ours.abs().max().item(), 3)
                row["cpu_s_per_image"] = round(per_image(lambda m=model: m.sample(1, truncation=0.5)), 3)
                row["what"] = "one 256x256 sample"
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
