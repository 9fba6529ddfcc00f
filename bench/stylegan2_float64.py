"""Which side of the StyleGAN2 import comparison rounds: the zoo and the upstream maths in float32 and float64.

    OMP_NUM_THREADS=1 .venv/bin/python bench/stylegan2_float64.py

The official 256-pixel layout with random weights (bench/import_speed.py's checkpoint), imported with the
real command; the zoo's synthesis and the functional reference of tests/test_import.py, each run in float32
and in float64 on the same latents and fixed noise.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

import test_import as ref  # noqa: E402  (the functional reference the tests check against)
from import_speed import rosinality_layout  # noqa: E402

import genzoo  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="genzoo-sg-f64-"))
    g = rosinality_layout(256)
    avg = torch.randn(512, generator=torch.Generator().manual_seed(1)) * 0.5
    torch.save({"g_ema": g, "latent_avg": avg}, tmp / "sg.pt")
    subprocess.run([sys.executable, "-m", "genzoo.cli", "import", "stylegan2", str(tmp / "sg.pt"), "--out",
                    str(tmp / "sg")], check=True, capture_output=True)
    z = torch.randn(2, 512, generator=torch.Generator().manual_seed(5))

    def zoo(dtype: torch.dtype) -> torch.Tensor:
        m = genzoo.create_model(str(tmp / "sg")).to(dtype)
        noise = [n.expand(2, -1, -1, -1) for n in m.generator.fixed_noise()]
        return m.generator.synthesis(m.w_plus(z.to(dtype), 0.5), noise)

    with torch.no_grad():
        zoo32, zoo64 = zoo(torch.float32), zoo(torch.float64)
        ref32 = ref.reference_generator(g, z, avg, 0.5)
        fir32 = ref.fir
        ref.fir = lambda gain: fir32(gain).double()
        g64 = {k: v.double() if v.is_floating_point() else v for k, v in g.items()}
        ref64 = ref.reference_generator(g64, z.double(), avg.double(), 0.5)
    print(f"max |output| {zoo64.abs().max().item():.2f}")
    pairs = (("zoo float32 vs upstream float32", zoo32, ref32), ("zoo float64 vs upstream float64", zoo64, ref64),
             ("zoo float32 vs float64", zoo32, zoo64), ("upstream float32 vs float64", ref32, ref64))
    for name, a, b in pairs:
        print(f"{name}: max abs {(a.double() - b.double()).abs().max().item():.3g}")


if __name__ == "__main__":
    main()
