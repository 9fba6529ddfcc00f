"""``genzoo demo``: DCGAN on MNIST for a few minutes, then a sample grid."""

from __future__ import annotations

from pathlib import Path

import click

from genzoo.core.errors import DataError


@click.command()
@click.option("--minutes", type=float, default=2.0, show_default=True, help="Training budget.")
@click.option("--data-root", default=None, help="Where MNIST lives (default $GENZOO_DATA or ~/.cache/genzoo/data).")
@click.option("--out", default="runs/demo", show_default=True, help="Run directory (runs/demo-2, ... if taken).")
def demo(minutes: float, data_root: str | None, out: str) -> None:
    """Train DCGAN on MNIST for a few minutes, then write a sample grid."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.images import save_grid

    from ..models.build import create_model
    from ..training.train import train

    out_dir, n = Path(out), 1
    while out_dir.exists():  # never replace an earlier run: take the next free name
        n += 1
        out_dir = Path(f"{out}-{n}")
    # Batch 64 doubles the updates a short CPU budget buys; DCGAN needs several hundred to draw digits.
    budget = {"max_minutes": minutes, "steps": 1_000_000, "batch_size": 64, "sample_every": 0, "checkpoint_every": 0}
    click.echo(f"training dcgan-mnist on MNIST for {minutes:g} minutes ...")
    try:
        result = train("dcgan-mnist", "mnist", out=out_dir, data_root=data_root, train=budget)
    except DataError as exc:  # raised while loading, before the run dir is created
        click.echo(f"MNIST is not available: {exc}\nFalling back to the digits set bundled with scikit-learn.")
        result = train("dcgan-digits", "digits", out=out_dir, data_root=data_root, train=budget)
    model = create_model(str(out_dir))
    with torch.no_grad():
        grid = save_grid(model.sample(64, generator=torch.Generator().manual_seed(0)), out_dir / "demo-samples.png")
    click.echo(f"trained {result.step} steps in {minutes:g} minutes; samples: {grid.resolve()}")
