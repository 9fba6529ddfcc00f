"""``genzoo sample``: a grid of samples from a run dir, a pretrained folder or a registered name."""

from __future__ import annotations

import click

from genzoo.core.config import parse_assignments
from genzoo.core.errors import GenzooError

from .model_arg import open_model


@click.command()
@click.argument("name")
@click.option("--n", "n", type=int, default=64, show_default=True, help="Number of images.")
@click.option("--out", default="samples.png", show_default=True, help="Grid PNG to write.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--label", type=int, default=None, help="Class to sample (conditional models).")
@click.option("--per-class", "per_class", type=int, default=None,
              help="Conditional models: a grid with one row per class, this many images each (replaces --n).")
@click.option("--nrow", type=int, default=None, help="Images per row.")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A sampling option, e.g. --set temperature=0.5 (`genzoo info NAME` lists them); repeatable. "
                   "It changes how this grid is drawn, never the model's config.")
def sample(name: str, n: int, out: str, seed: int, label: int | None, per_class: int | None, nrow: int | None,
           variant: str, settings: tuple[str, ...]) -> None:
    """Sample a grid from a run dir, a pretrained folder or a registered NAME."""
    options = parse_assignments(settings)
    if n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    if per_class is not None and label is not None:
        raise GenzooError("--per-class samples every class; drop --label (or drop --per-class).")
    if per_class is not None and per_class < 1:
        raise GenzooError(f"--per-class must be at least 1 (got {per_class}).")
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.images import save_grid

    model = open_model(name, variant, outputs="samples are noise")
    labels = None
    if per_class is not None:
        model.require("conditional")
        classes = getattr(model.config, "num_classes", 0)
        if not classes:
            raise GenzooError(f"{model.family} is conditional but its config has no num_classes; use --label.")
        labels = torch.arange(classes).repeat_interleave(per_class)
        n, nrow = len(labels), per_class
    elif label is not None:
        model.require("conditional")
        classes = getattr(model.config, "num_classes", 0)
        if classes and not 0 <= label < classes:
            raise GenzooError(f"--label {label} is out of range; {model.family} has classes 0..{classes - 1}.")
        labels = torch.full((n,), label, dtype=torch.long)
    model.require("sample")
    # Checked before anything is drawn: an unknown option is one line naming it and the ones there are.
    typed = model.sampling(options)
    options = {key: getattr(typed, key) for key in options}
    model.eval()
    with torch.no_grad():
        images = model.sample(n, labels=labels, generator=torch.Generator().manual_seed(seed), **options)
    what = f"{classes} classes x {per_class}" if per_class is not None else f"{n} images"
    what += "".join(f", {key}={value}" for key, value in options.items())
    click.echo(f"wrote {save_grid(images, out, nrow)} ({what})")
