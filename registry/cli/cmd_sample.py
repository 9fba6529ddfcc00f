"""``genzoo sample``: a grid of samples from a run dir, a pretrained folder or a registered name."""

from __future__ import annotations

import click

from genzoo.core.config import parse_assignments
from genzoo.core.errors import GenzooError

from .model_arg import open_model


@click.command()
@click.argument("name")
@click.option("--n", "n", type=int, default=64, show_default=True, help="Number of images.")
@click.option("--out", default="samples.png", show_default=True,
              help="Grid PNG to write; or FILE.npz (uint8 NHWC, key arr_0) or DIR/ (one PNG per image, 000000.png "
                   "...) for --n images other tools can score.")
@click.option("--batch-size", type=int, default=250, show_default=True,
              help="With FILE.npz or DIR/: images drawn per model call (bounds memory for large --n).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--label", type=int, default=None, help="Class to sample (conditional models).")
@click.option("--per-class", "per_class", type=int, default=None,
              help="Conditional models: a grid with one row per class, this many images each (replaces --n).")
@click.option("--nrow", type=int, default=None, help="Images per row.")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A sampling option, e.g. --set temperature=0.5 (`genzoo info NAME` lists them); repeatable. "
                   "It changes how this grid is drawn, never the model's config.")
@click.option("--truncation", type=float, default=None,
              help="The truncation trick (e.g. StyleGAN2: 0.5-0.7 trades variety for typical, cleaner images): "
                   "the sampling option `truncation`, for models that have it.")
@click.option("--mix", default=None, metavar="SEED_A,SEED_B",
              help="Style mixing (models with the options mix_seed/mix_layers, e.g. StyleGAN2): a grid of three rows, "
                   "SEED_A's images, SEED_B's, and SEED_A's with SEED_B's styles at --layers.")
@click.option("--layers", default=None, metavar="A-B",
              help="With --mix: the layers of w+ taken from SEED_B, e.g. 0-3 (coarse: pose, shape), 8- (fine).")
def sample(name: str, n: int, out: str, batch_size: int, seed: int, label: int | None, per_class: int | None,
           nrow: int | None, variant: str, settings: tuple[str, ...], truncation: float | None, mix: str | None,
           layers: str | None) -> None:
    """Sample a grid from a run dir, a pretrained folder or a registered NAME."""
    options = parse_assignments(settings)
    if truncation is not None:
        options["truncation"] = str(truncation)
    if layers is not None and mix is None:
        raise GenzooError("--layers picks the layers of a style mix; give --mix SEED_A,SEED_B too.")
    if mix is not None:
        seeds = mix.split(",")
        if len(seeds) != 2 or not all(s.strip().lstrip("-").isdigit() for s in seeds):
            raise GenzooError(f"--mix {mix!r} must be two integer seeds, e.g. --mix 1,2.")
        seed, mix_b = int(seeds[0]), int(seeds[1])
        options.update(mix_seed=str(mix_b), **({"mix_layers": layers} if layers is not None else {}))
    if n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    if per_class is not None and label is not None:
        raise GenzooError("--per-class samples every class; drop --label (or drop --per-class).")
    if per_class is not None and per_class < 1:
        raise GenzooError(f"--per-class must be at least 1 (got {per_class}).")
    # Deferred: it imports torch, and `genzoo --help` must not.
    from .sample_files import bulk_kind, check_bulk_target, write_samples

    kind = bulk_kind(out)
    if kind != "grid":  # files to score: checked before the model is even loaded
        if mix is not None:
            raise GenzooError("--mix draws a comparison grid; write it to a .png, not to an .npz or a folder.")
        if batch_size < 1:
            raise GenzooError(f"--batch-size must be at least 1 (got {batch_size}).")
        check_bulk_target(out, kind)
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    import torch

    from genzoo.core.atomic import check_can_write
    from genzoo.core.images import image_format, save_grid

    if kind == "grid":
        image_format(out)
        check_can_write(out, f"--out {out}")
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
    try:
        typed = model.sampling(options)
    except GenzooError as exc:
        flags = [f for f, given in (("--truncation", truncation is not None), ("--mix", mix is not None)) if given]
        raise GenzooError(f"{' / '.join(flags)}: {exc}" if flags else str(exc)) from None
    options = {key: getattr(typed, key) for key in options}
    model.eval()
    if kind != "grid":
        gen = torch.Generator().manual_seed(seed)

        def draw(k: int, lab: torch.Tensor | None) -> torch.Tensor:
            with torch.no_grad():
                return model.sample(k, labels=lab, generator=gen, **options)

        path = write_samples(draw, n, out, kind, batch_size=batch_size, labels=labels)
        click.echo(f"wrote {path} ({n} images{''.join(f', {k}={v}' for k, v in options.items())})")
        return
    with torch.no_grad():
        images = model.sample(n, labels=labels, generator=torch.Generator().manual_seed(seed), **options)
        if mix is not None:  # the two sources above their mix, with the same latents and noise draws
            plain = {k: v for k, v in options.items() if k not in ("mix_seed", "mix_layers")}
            sources = [model.sample(n, labels=labels, generator=torch.Generator().manual_seed(s), **plain)
                       for s in (seed, mix_b)]
            images, nrow = torch.cat([*sources, images]), n
    what = f"{classes} classes x {per_class}" if per_class is not None else f"{n} images"
    what += "".join(f", {key}={value}" for key, value in options.items())
    click.echo(f"wrote {save_grid(images, out, nrow)} ({what})")
