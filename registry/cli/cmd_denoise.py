"""``genzoo denoise``: corrupt clean images, let a model's ``reconstruct`` undo it, and measure.

Clean images come from a folder or a named data set at the model's size; noise from
genzoo.core.image_noise is added in [0, 1] pixel space (the space a denoising autoencoder
is trained in), then mapped to the model's input normalisation and back. PSNR and SSIM
(genzoo.core.image_quality) are computed on the 8-bit images that are written to disk, so
anyone re-measuring the PNGs gets the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from genzoo.core.atomic import check_can_write
from genzoo.core.errors import GenzooError

from .model_arg import open_model

SPACES = ("zero_one", "minus_one_one")


@click.command("denoise")
@click.argument("model_name", metavar="NAME_OR_RUN")
@click.argument("images")
@click.option("--out", required=True, help="Folder for clean/, noisy/, denoised/ PNGs, grid.png and metrics.json.")
@click.option("--noise-std", type=float, default=0.3, show_default=True,
              help="Noise strength: std for gaussian, corrupted fraction for salt_pepper and mask.")
@click.option("--noise", type=click.Choice(["gaussian", "salt_pepper", "mask"]), default="gaussian", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--split", default="test", show_default=True, help="Split of a named data set.")
@click.option("--n", "n", type=int, default=100, show_default=True, help="Use the first N images.")
@click.option("--data-root", default=None, help="Where named data sets live.")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
def command(model_name: str, images: str, out: str, noise_std: float, noise: str, seed: int, split: str, n: int,
            data_root: str | None, variant: str) -> None:
    """Add noise to IMAGES (a folder or a data set name) and denoise them with NAME_OR_RUN."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.image_noise import corrupt
    from genzoo.core.image_quality import mean_finite, psnr, ssim
    from genzoo.core.images import make_grid, save_image

    from ..sources import load_data

    if n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    check_can_write(out, f"--out {out}", folder=True)
    model = open_model(model_name, variant, outputs="its reconstructions are noise")
    model.require("reconstruct")
    prep = model.preprocessing
    space = prep.normalize
    if space not in SPACES:
        raise GenzooError(f"denoise works with models whose inputs are zero_one or minus_one_one images; "
                          f"{model_name} uses {space!r}.")
    cfg = model.config
    data = load_data(images, image_size=cfg.image_size, channels=cfg.channels, resize=prep.resize, split=split,
                     root=data_root)
    clean8 = data.images[:n]
    if clean8.shape[0] == 0:
        raise GenzooError(f"{images} holds no images.")

    def to_model(x01: torch.Tensor) -> torch.Tensor:
        return x01 if space == "zero_one" else x01 * 2 - 1

    def from_model(y: torch.Tensor) -> torch.Tensor:
        return (y if space == "zero_one" else (y + 1) / 2).clamp(0, 1)

    def quantize(x01: torch.Tensor) -> torch.Tensor:
        return (x01 * 255).round().to(torch.uint8)

    clean = clean8.float() / 255
    noisy8 = quantize(corrupt(clean, noise, noise_std, torch.Generator().manual_seed(seed)))
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(noisy8), 256):
            batch = to_model(noisy8[i:i + 256].float() / 255).to(model.device)
            outs.append(quantize(from_model(model.reconstruct(batch)).cpu()))
    denoised8 = torch.cat(outs)

    def scores(x: torch.Tensor) -> dict[str, float]:
        return {"psnr": mean_finite(psnr(clean8.float(), x.float(), 255.0)),
                "ssim": float(ssim(clean8.float(), x.float(), 255.0).mean())}

    metrics = {
        "model": model.meta.name or model_name, "source": model_name, "images": images, "n": len(clean8),
        "noise": noise, "noise_std": noise_std, "seed": seed, "data_range": 255,
        "noisy": scores(noisy8), "denoised": scores(denoised8),
    }
    out_dir = Path(out)
    for name, batch in (("clean", clean8), ("noisy", noisy8), ("denoised", denoised8)):
        for i, img in enumerate(batch):
            save_image(img, out_dir / name / f"{i:05d}.png")
    rows = min(len(clean8), 8)
    triples = torch.stack([clean8[:rows], noisy8[:rows], denoised8[:rows]], 1).flatten(0, 1)
    save_image(make_grid(triples, nrow=3), out_dir / "grid.png")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    click.echo(f"{metrics['n']} images, {noise} noise {noise_std:g}:  "
               f"noisy PSNR {metrics['noisy']['psnr']:.2f} dB SSIM {metrics['noisy']['ssim']:.4f}  ->  "
               f"denoised PSNR {metrics['denoised']['psnr']:.2f} dB SSIM {metrics['denoised']['ssim']:.4f}")
    click.echo(f"wrote {out_dir}/ (clean/, noisy/, denoised/, grid.png: clean | noisy | denoised, metrics.json)")
