"""``genzoo demo``: DCGAN on MNIST for a fixed number of steps, with a progress bar, then a sample grid."""

from __future__ import annotations

import time
from pathlib import Path

import click

from genzoo.core.errors import DataError, GenzooError

DEMO_STEPS = 3000
"""A step budget, not a wall-clock one: a loaded machine takes longer but ends with the same digits (a
2-minute budget once bought 40 steps of noise). At 1,200 steps of 64 images the half-width DCGAN below drew
half its grid as blobs; at 3,000 most of the 64 read as digits. The README says how long that takes here."""
DEMO_MODEL = {"g_width": 32, "d_width": 32}
"""Half the default width: 3-4x cheaper per step on a CPU, and MNIST needs no more to look like digits."""


@click.command()
@click.option("--steps", type=int, default=DEMO_STEPS, show_default=True,
              help="Training steps of 64 images (the same result on any machine, sooner or later).")
@click.option("--minutes", type=float, default=None,
              help="Also stop after this many minutes, whatever --steps says (the grid may then be noise).")
@click.option("--data-root", default=None, help="Where MNIST lives (default $GENZOO_DATA or ~/.cache/genzoo/data).")
@click.option("--out", default="runs/demo", show_default=True, help="Run directory (runs/demo-2, ... if taken).")
def demo(steps: int, minutes: float | None, data_root: str | None, out: str) -> None:
    """Train DCGAN on MNIST for a fixed number of steps, then write a sample grid."""
    if steps < 1 or (minutes is not None and minutes <= 0):
        raise GenzooError("--steps and --minutes must be positive.")
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.images import save_grid

    from ..models.build import create_model
    from ..training.train import train

    out_dir, n = Path(out), 1
    while out_dir.exists():  # never replace an earlier run: take the next free name
        n += 1
        out_dir = Path(f"{out}-{n}")
    # Batch 64 doubles the updates a CPU second buys; DCGAN needs about a thousand of them to draw digits.
    budget = {"steps": steps, "max_minutes": minutes or 0.0, "batch_size": 64, "sample_every": 0,
              "checkpoint_every": 0}
    click.echo(f"training dcgan-mnist (half width) on MNIST for {steps} steps; the bar shows the time left ...")
    start = time.perf_counter()
    try:
        result = train("dcgan-mnist", "mnist", out=out_dir, data_root=data_root, train=budget, config=DEMO_MODEL)
    except DataError as exc:  # raised while loading, before the run dir is created
        click.echo(f"MNIST is not available: {exc}\nFalling back to the digits set bundled with scikit-learn.")
        result = train("dcgan-digits", "digits", out=out_dir, data_root=data_root, train=budget, config=DEMO_MODEL)
    model = create_model(str(out_dir))
    with torch.no_grad():
        grid = save_grid(model.sample(64, generator=torch.Generator().manual_seed(0)), out_dir / "demo-samples.png")
    click.echo(f"trained {result.step} steps in {time.perf_counter() - start:.0f} s; samples: {grid.resolve()}")
