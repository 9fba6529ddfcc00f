"""``genzoo import FORMAT CHECKPOINT --out FOLDER``: weights trained elsewhere as an ordinary pretrained folder.

A plugin registers each format it understands (``register_importers``); its converter reads the
file's keys and shapes, names the zoo model they fit and maps every tensor. The file is never
unpickled: safetensors or ``torch.load(weights_only=True)``, and a bare pickle (NVIDIA's .pkl) is
refused with the plugin's advice on getting a state dict. The folder is written whole or not at all,
and its card names the source file's sha256, the format, the upstream project and an empty license
for the user to fill in, so ``sample``, ``translate``, ``eval``, ``push`` and ``bench`` take it as any.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import click

from genzoo.core.errors import GenzooError

from ..zoo import get_zoo, resolve


def _fit(imported, model_name: str) -> None:
    """Refuse a checkpoint that is not the ``--model`` the user asked for, naming the fields that differ."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..models.build import create_model

    wanted = create_model(model_name).config
    differ = [f"{k}={v} (the file) vs {getattr(wanted, k)}" for k, v in imported.config.items()
              if getattr(wanted, k, v) != v]
    if differ:
        raise GenzooError(f"the checkpoint does not fit {model_name}: {'; '.join(differ)}.")


@click.command("import")
@click.argument("format_name", metavar="FORMAT")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The pretrained folder to write.")
@click.option("--model", "model_name", default=None,
              help="The registered model the weights must fit, e.g. stylegan2-256: another resolution or width "
                   "is refused (default: whatever the file holds).")
@click.option("--force", is_flag=True, help="Replace --out if it exists (atomically: the old folder stays until "
                                            "the new one is complete).")
def command(format_name: str, checkpoint: Path, out: Path, model_name: str | None, force: bool) -> None:
    """Convert CHECKPOINT, saved by another project in FORMAT, into the pretrained folder --out.

    Built-in formats: cyclegan (junyanz/pytorch-CycleGAN-and-pix2pix generators) and stylegan2
    (rosinality/stylegan2-pytorch checkpoints); `genzoo plugins` lists every plugin's (importers).
    """
    zoo = get_zoo()
    spec = zoo.importers.get(format_name)
    if spec is None:
        known = "; ".join(f"{n} ({s.description})" for n, s in sorted(zoo.importers.items())) or "none installed"
        raise GenzooError(f"unknown import format {format_name!r}. Formats: {known}.")
    if out.exists() and not force:
        raise GenzooError(f"{out} already exists; choose another --out or pass --force to replace it.")
    if not checkpoint.is_file():
        raise GenzooError(f"{checkpoint} does not exist (or is not a file).")
    # Deferred: torch and the model code; `genzoo list` and `genzoo --help` must not import them.
    import torch

    from genzoo.core.atomic import sha256_file
    from genzoo.core.importing import is_pickle, match_keys, read_checkpoint
    from genzoo.core.version import __version__

    from ..models.build import create_model

    if is_pickle(checkpoint):
        raise GenzooError(f"{checkpoint} is a Python pickle: loading one runs whatever code it contains, so genzoo "
                          f"never does. {spec.pickle_hint}".rstrip())
    started = time.perf_counter()
    imported = resolve(spec.converter, f"import format {format_name!r}")(read_checkpoint(checkpoint), checkpoint)
    if model_name:
        _fit(imported, model_name)
    model = create_model(imported.model, **imported.config)
    own = model.state_dict()
    for part, tensors in (("weights", imported.weights), ("ema", imported.ema or {})):
        # the converter's promise (its keys are the model's), checked so a plugin bug is named, not a traceback
        match_keys(tensors, {k: tuple(own[k].shape) for k in tensors if k in own},
                   f"import format {format_name!r} ({part} made from {checkpoint})")
    model.load_state_dict({**own, **imported.weights})
    fresh = sorted({k.split(".", 1)[0] for k, _ in model.named_parameters() if k not in imported.weights})
    model.meta.provenance = {
        "imported": {"format": format_name, "file": checkpoint.name, "sha256": sha256_file(checkpoint),
                     "upstream": spec.upstream, **imported.details,
                     **({"not in the checkpoint (freshly initialised)": ", ".join(fresh)} if fresh else {})},
        "genzoo_version": __version__,
        "command": shlex.join(["genzoo", "import", format_name, str(checkpoint), "--out", str(out),
                               *(["--model", model_name] if model_name else [])]),
    }
    model.meta.description = f"{model.meta.description} Imported from {checkpoint.name} ({spec.upstream})."
    with torch.no_grad():
        model.save_pretrained(out, ema=imported.ema, extra={"license": ""})
    seconds = time.perf_counter() - started
    click.echo(f"imported {checkpoint} ({format_name}) as {imported.model} into {out} in {seconds:.1f} s"
               + (f"; freshly initialised: {', '.join(fresh)}" if fresh else ""))
    click.echo(f"the card's license field is empty: fill in the license of the upstream weights ({out}/README.md)",
               err=True)
