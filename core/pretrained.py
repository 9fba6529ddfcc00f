"""Pretrained folders: config.json + model.safetensors (+ model.ema.safetensors) + README.md.

The folder is everything needed to rebuild a model without its training run: which plugin
and registered name made it, the full typed config, the preprocessing its inputs need, and
the weights. EMA weights are stored as a separate variant file holding only the averaged
modules, so loading picks raw or averaged weights without doubling the download. Writing
is atomic (a complete folder or the previous one, never a mixture).

A folder may come from a stranger, and its config.json decides how big a network is built: one
asking for g_width=200000 would allocate terabytes. So loading compares the shapes the config
asks for (a model built on the ``meta`` device, which allocates nothing) with the shapes the
weights files' headers declare, and refuses a mismatch, naming the first tensors that differ,
before a byte of the real model or its weights is allocated.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from .atomic import atomic_dir
from .config import to_dict
from .errors import GenzooError
from .images import save_grid
from .metrics.protocol import Score
from .model_card import CARD, SAMPLES, model_card, with_scores
from .rundir import PRETRAINED_CONFIG, usage_location
from .tensorfile import load_tensors, save_tensors
from .version import __version__

CONFIG = PRETRAINED_CONFIG  # named once, in rundir, which must know it without importing torch
WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "model.ema.safetensors"
FORMAT_VERSION = 1


def save_pretrained(
    model: torch.nn.Module,
    directory: str | os.PathLike,
    *,
    ema: dict[str, torch.Tensor] | None = None,
    samples: torch.Tensor | None = None,
    scores: Sequence[Score] = (),
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and its EMA modules' state, keyed as in the model) as a pretrained folder.

    ``scores`` (the final weights' evaluation, each with its protocol) go into config.json
    (``eval_scores``, and the ``model-index`` as ``eval_results``) and the card, so the folder
    is written once, complete. ``model.meta.provenance`` (how the weights were made) is kept
    in config.json under ``provenance`` and rendered in the card.
    """
    meta = model.meta  # a genzoo.core.model.ModelMeta
    config = {
        "format_version": FORMAT_VERSION,
        "genzoo_version": __version__,
        "name": meta.name,
        "family": meta.family,
        "plugin": meta.plugin,
        "distribution": meta.distribution,
        "config": to_dict(model.config),
        # absent for a model built straight from its class: loading then uses the registered preprocessing
        **({"preprocessing": to_dict(meta.preprocessing)} if meta.preprocessing is not None else {}),
        "capabilities": sorted(getattr(model, "capabilities", ())),
        "variants": ["ema"] if ema else [],
        # what the card shows, so that a card rendered later from config.json alone (a push) says the same
        **({"data": meta.data} if meta.data else {}),
        **({"description": meta.description} if meta.description else {}),
        **({"tags": list(meta.tags)} if meta.tags else {}),
        **({"provenance": meta.provenance} if meta.provenance else {}),
    }
    if scores:
        config = with_scores(config, scores)
    config.update(extra or {})
    target = Path(directory)
    with atomic_dir(target) as tmp:
        (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_tensors(tmp / WEIGHTS, model.state_dict(), {"name": config["name"]})
        if ema:
            save_tensors(tmp / EMA_WEIGHTS, ema, {"name": config["name"], "variant": "ema"})
        if samples is not None:
            save_grid(samples, tmp / SAMPLES)
        card = model_card(config, has_samples=samples is not None, location=usage_location(target))
        (tmp / CARD).write_text(card, encoding="utf-8")
    return target


Shapes = dict[str, tuple[int, ...]]


def planned_shapes(build: Callable[[], torch.nn.Module]) -> Shapes | None:
    """The state-dict shapes of the model ``build`` makes, built on the meta device (nothing allocated);
    None for a model that cannot be built there (a plugin doing real arithmetic in its constructor)."""
    try:
        with torch.device("meta"):
            model = build()
    except Exception:  # the load still checks shapes from the headers, after the real build
        return None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def header_shapes(path: Path) -> Shapes:
    """Every tensor's shape as a safetensors file's header declares it; no tensor is read."""
    if not path.is_file():
        raise GenzooError(f"{path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise GenzooError(f"{path} is not a readable safetensors file ({exc}); it may be truncated or "
                          f"corrupt.") from None


def _files(directory: Path, variant: str) -> list[Path]:
    use_ema = variant == "ema" or (variant == "default" and (directory / EMA_WEIGHTS).is_file())
    if variant == "ema" and not (directory / EMA_WEIGHTS).is_file():
        raise GenzooError(f"{directory} has no EMA weights ({EMA_WEIGHTS}); use variant='raw'.")
    return [directory / WEIGHTS, *([directory / EMA_WEIGHTS] if use_ema else [])]


def check_weights_fit(expected: Shapes, directory: str | os.PathLike, variant: str = "default") -> None:
    """Refuse weights files whose header shapes are not those ``expected`` (the config's model), naming
    the first tensors that differ and, for a config far larger than its weights, both sizes."""
    directory = Path(directory)
    files = _files(directory, variant)
    state: Shapes = {}
    for path in files:
        state.update(header_shapes(path))
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k] != expected[k])
    if not (missing or unexpected or wrong):
        return

    def show(names: list[str]) -> str:
        return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

    shapes = [f"{k} {state[k]} vs {expected[k]}" for k in wrong]
    parts = [
        f"missing: {show(missing)}" if missing else "",
        f"unexpected: {show(unexpected)}" if unexpected else "",
        f"wrong shape: {show(shapes)} (file vs config)" if wrong else "",
    ]
    wanted = sum(math.prod(s) for s in expected.values())
    held = sum(math.prod(s) for k, s in state.items() if k in expected)
    size = (f"; its {CONFIG} asks for {wanted:,} values where the weights hold {held:,}, so nothing was allocated"
            if wanted > 2 * held else "")
    raise GenzooError(f"{files[0]} does not match the model's config ({'; '.join(p for p in parts if p)}){size}.")


def load_weights(model: torch.nn.Module, directory: str | os.PathLike, variant: str = "default") -> None:
    """Load weights into ``model``, checking names and shapes first; ``variant`` is default, raw or ema."""
    directory = Path(directory)
    check_weights_fit({k: tuple(v.shape) for k, v in model.state_dict().items()}, directory, variant)
    state: dict[str, torch.Tensor] = {}
    for path in _files(directory, variant):
        state.update(load_tensors(path)[0])
    model.load_state_dict(state)
