"""``genzoo translate``: run an image-to-image model (CycleGAN) over a folder of images.

Each input becomes one translated PNG under --out at the same relative name, and a grid
shows inputs above their translations, so a run is easy to eyeball and to diff.
"""

from __future__ import annotations

from pathlib import Path

import click

from genzoo.core.errors import GenzooError

from .model_arg import open_model

GRID = "translation-grid.png"
GRID_COLUMNS = 16
CHUNK = 64


def _out_names(rels: list[Path]) -> list[Path]:
    """Relative output names: the input's with a .png suffix (its full name + .png if that clashes)."""
    names = [r.with_suffix(".png") for r in rels]
    clashes = {n for n in names if names.count(n) > 1}
    return [Path(f"{r.as_posix()}.png") if n in clashes else n for r, n in zip(rels, names)]


@click.command("translate")
@click.argument("name")
@click.argument("images", type=click.Path(path_type=Path))
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="a2b: inputs are domain A (the first folder it trained on); b2a: domain B.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the translated PNGs.")
@click.option("--n", "n", type=int, default=None, help="Translate only the first N images (sorted by name).")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
def command(name: str, images: Path, direction: str, out: Path, n: int | None, variant: str) -> None:
    """Translate the images in folder IMAGES with model NAME (a run dir or pretrained folder)."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.data.transforms import normalize
    from genzoo.core.images import make_grid, save_image

    from ..sources import load_data

    if not images.is_dir():
        raise GenzooError(f"image folder {images} does not exist (or is not a folder).")
    if n is not None and n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    model = open_model(name, variant, outputs="outputs are noise")
    model.require("translate")
    cfg = model.config
    pre = model.preprocessing
    data = load_data(f"folder:{images}", image_size=cfg.image_size, channels=cfg.channels, resize=pre.resize)
    root = images.expanduser()
    rels = [p.relative_to(root) for p in data.report.good]
    x = data.images if n is None else data.images[:n]
    rels = rels[: len(x)]
    names = _out_names(rels)
    if Path(GRID) in names:
        raise GenzooError(f"{images} holds a file that would be written as {GRID}, the name of the grid; rename it.")
    model.eval()
    outputs = []
    with torch.no_grad():
        for i in range(0, len(x), CHUNK):
            batch = normalize(x[i:i + CHUNK].to(model.device), pre.normalize)
            outputs.append(model.translate(batch, direction).cpu())
    y = torch.cat(outputs)
    for rel, image in zip(names, y):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        save_image(image, out / rel)
    k = min(GRID_COLUMNS, len(x))
    inputs = normalize(x[:k], pre.normalize)
    grid = save_image(make_grid(torch.cat([inputs, y[:k]]), nrow=k), out / GRID)
    click.echo(f"translated {len(x)} images ({direction}) into {out}; grid (inputs above outputs): {grid}")
