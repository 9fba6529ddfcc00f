"""What fusing the pairwise sweep's per-block passes would buy: eager vs torch.compile on one cross block.

genzoo's precision/recall, density/coverage and KID sweep computes one fake x real Gram block
at a time (core/metrics/pairwise.py) and then runs eager passes over it: a min per direction for
precision and recall, the distance compare for density and coverage, KID's kernel and its subset
sums. This times those passes as the sweep runs them against one compiled function that computes
the same results (inductor fuses the elementwise work and the reductions into a few loops over
the block), beside the block's own Gram product, and checks that both give the same decisions.
It measures how far fusion could take bench/metrics.py towards its floor; the package does not
compile (a compiler on every user's machine, and a first compile of ~30 s beside a 5 s sweep).

    OMP_NUM_THREADS=2 .venv/bin/python bench/metrics_fusion.py [--block 1024 --dims 2048 --threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch


def best_ms(fn: Callable[[], object], repeats: int = 30, rounds: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--block", type=int, default=1024, help="rows and columns of the Gram block (the sweep's default)")
    p.add_argument("--dims", type=int, default=2048, help="feature dimensions (Inception's 2048)")
    p.add_argument("--subsets", type=int, default=100, help="KID subsets (indicator columns)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    b, dims = args.block, args.dims
    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(b, dims, generator=g), torch.randn(b, dims, generator=g)
    gram = fake @ real.T
    sq_f, sq_r = fake.pow(2).sum(1), real.pow(2).sum(1)
    radius = torch.full((b,), 2.0 * dims)  # about the median squared distance: both outcomes occur
    lift_r, lift_f = sq_r - radius, sq_f - radius
    ind_f = (torch.rand(b, args.subsets, generator=g) < 0.1).float()
    ind_r = (torch.rand(b, args.subsets, generator=g) < 0.1).float()

    def eager(gram: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The passes as pairwise_metrics runs them on a cross block."""
        precise = torch.add(lift_r[None], gram, alpha=-2).amin(1) <= -sq_f
        recalled = torch.add(lift_f[:, None], gram, alpha=-2).amin(0) <= -sq_r
        inside = (sq_f[:, None] + sq_r[None]).sub_(gram, alpha=2).clamp_min_(0) < radius[None]
        kernel = (gram / dims + 1).pow(3)
        return precise, recalled, inside.sum(), inside.any(0), ind_f.T @ kernel @ ind_r

    def fusable(gram: torch.Tensor) -> tuple[torch.Tensor, ...]:
        precise = (lift_r[None] - 2 * gram).amin(1) <= -sq_f
        recalled = (lift_f[:, None] - 2 * gram).amin(0) <= -sq_r
        inside = (sq_f[:, None] + sq_r[None] - 2 * gram).clamp_min(0) < radius[None]
        return precise, recalled, inside.sum(), inside.any(0), (gram / dims + 1).pow(3)

    compiled = torch.compile(fusable, dynamic=False)
    start = time.perf_counter()
    compiled(gram)
    first = time.perf_counter() - start

    def fused(gram: torch.Tensor) -> tuple[torch.Tensor, ...]:
        *decisions, kernel = compiled(gram)
        return (*decisions, ind_f.T @ kernel @ ind_r)

    e, f = eager(gram), fused(gram)
    same = all(torch.equal(x, y) for x, y in zip(e[:4], f[:4], strict=True))
    kid_rel = ((e[4] - f[4]).abs().max() / e[4].abs().max()).item()
    gemm = best_ms(lambda: fake @ real.T)
    t_eager, t_fused = best_ms(lambda: eager(gram)), best_ms(lambda: fused(gram))
    print(f"{b} x {b} block, {dims} dims, {args.threads} threads, torch {torch.__version__}")
    print(f"first compiled call {first:.2f} s (a cold compile, or inductor's on-disk cache)")
    print(f"Gram product {gemm:.2f} ms; passes eager {t_eager:.2f} ms ({t_eager / gemm:.0%} of it), "
          f"compiled {t_fused:.2f} ms ({t_fused / gemm:.0%})")
    print(f"same precision/recall/density/coverage decisions: {same}; KID sums max relative difference {kid_rel:.1e}")


if __name__ == "__main__":
    main()
