"""``genzoo translate``: run an image-to-image model (CycleGAN) over a folder of images, or one image.

Each input becomes one translated PNG under --out at the same relative name, and a grid
shows inputs above their translations, so a run is easy to eyeball and to diff. A single
image file is translated into the one file --out names (``photo.jpg --out zebra.png``); like
the folder's images it is first fitted to the model's size as its preprocessing says (an
imported official CycleGAN: resized to 256x256, aspect not kept, as the official test script's
load_size = crop_size = 256 does), whatever its own size.
"""

from __future__ import annotations

from pathlib import Path

import click

from genzoo.core.atomic import check_can_write
from genzoo.core.errors import GenzooError

from .model_arg import open_model

GRID = "translation-grid.png"
GRID_COLUMNS = 16
CHUNK = 64
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


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
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the translated PNGs; for one input image, the image file to write (or a folder).")
@click.option("--n", "n", type=int, default=None, help="Translate only the first N images (sorted by name).")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
def command(name: str, images: Path, direction: str, out: Path, n: int | None, variant: str) -> None:
    """Translate the images in folder IMAGES (or the one image file IMAGES) with model NAME."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.data.transforms import normalize
    from genzoo.core.images import make_grid, save_image

    from ..sources import load_data

    if images.is_file():
        return _translate_file(name, images, direction, out, variant)
    if not images.is_dir():
        raise GenzooError(f"image folder {images} does not exist (or is not a folder).")
    if n is not None and n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    check_can_write(out, f"--out {out}", folder=True)
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


def _translate_file(name: str, image: Path, direction: str, out: Path, variant: str) -> None:
    """One image file -> one translated image, at the model's size."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.data.folder import decode_image
    from genzoo.core.data.transforms import fit_size, normalize
    from genzoo.core.images import save_image

    target = out if out.suffix.lower() in IMAGE_SUFFIXES else out / f"{image.stem}.png"
    check_can_write(target, f"--out {out}")
    model = open_model(name, variant, outputs="outputs are noise")
    model.require("translate")
    cfg, pre = model.config, model.preprocessing
    try:
        pixels = decode_image(image, cfg.channels)
    except Exception as exc:  # PIL's errors for a corrupt, truncated or non-image file
        raise GenzooError(f"cannot read {image} as an image ({type(exc).__name__}: {exc}).") from None
    x = fit_size(pixels[None], cfg.image_size, pre.resize)
    model.eval()
    with torch.no_grad():
        y = model.translate(normalize(x.to(model.device), pre.normalize), direction).cpu()
    target.parent.mkdir(parents=True, exist_ok=True)
    save_image(y[0], target)
    size = "x".join(map(str, pixels.shape[-2:][::-1]))
    click.echo(f"translated {image} ({size}) {direction} at {cfg.image_size}x{cfg.image_size} into {target}")
