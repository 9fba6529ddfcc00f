"""Pretrained folders: config.json + model.safetensors (+ model.ema.safetensors) + README.md.

The folder is everything needed to rebuild a model without its training run: which plugin
and registered name made it, the full typed config, the preprocessing its inputs need, and
the weights. EMA weights are stored as a separate variant file holding only the averaged
modules, so loading picks raw or averaged weights without doubling the download. Writing
is atomic (a complete folder or the previous one, never a mixture).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_dir
from .config import to_dict
from .errors import GenzooError
from .images import save_grid
from .tensorfile import load_tensors, save_tensors
from .version import __version__

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "model.ema.safetensors"
CARD = "README.md"
SAMPLES = "samples.png"
FORMAT_VERSION = 1


def _card(info: dict[str, Any], has_samples: bool) -> str:
    tags = ["genzoo", info.get("family", ""), *info.get("tags", [])]
    header = {
        "library_name": "genzoo",
        "license": info.get("license", "apache-2.0"),
        "tags": [t for t in dict.fromkeys(tags) if t],
        "datasets": [info["data"]] if info.get("data") else [],
    }
    lines = ["---"] + [f"{k}: {json.dumps(v)}" for k, v in header.items()]
    if info.get("eval_results"):
        lines.append(f"model-index: {json.dumps(info['eval_results'])}")
    lines += ["---", "", f"# {info.get('name', 'genzoo model')}", "", info.get("description", ""), ""]
    if has_samples:
        lines += [f"![samples]({SAMPLES})", ""]
    lines += [
        "## Use", "", "```python", "import genzoo", "",
        'model = genzoo.create_model("PATH_OR_HUB_ID", pretrained=True)',
        "images = model.sample(16)  # (16, C, H, W) in [-1, 1]",
        "```", "", f"Family `{info.get('family')}` from plugin `{info.get('plugin')}`"
        + (f" (distribution `{info['distribution']}`)" if info.get("distribution") else "") + ".", "",
    ]
    return "\n".join(lines)


def save_pretrained(
    model: torch.nn.Module,
    directory: str | os.PathLike,
    *,
    ema: dict[str, torch.Tensor] | None = None,
    samples: torch.Tensor | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and its EMA modules' state, keyed as in the model) as a pretrained folder."""
    meta = dict(getattr(model, "meta", {}))
    config = {
        "format_version": FORMAT_VERSION,
        "genzoo_version": __version__,
        "name": meta.get("name", ""),
        "family": meta.get("family", ""),
        "plugin": meta.get("plugin", ""),
        "distribution": meta.get("distribution", ""),
        "config": to_dict(model.config),
        "preprocessing": meta.get("preprocessing", {}),
        "capabilities": sorted(getattr(model, "capabilities", ())),
        "variants": ["ema"] if ema else [],
        **(extra or {}),
    }
    target = Path(directory)
    with atomic_dir(target) as tmp:
        (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_tensors(tmp / WEIGHTS, model.state_dict(), {"name": config["name"]})
        if ema:
            save_tensors(tmp / EMA_WEIGHTS, ema, {"name": config["name"], "variant": "ema"})
        if samples is not None:
            save_grid(samples, tmp / SAMPLES)
        (tmp / CARD).write_text(_card({**meta, **config}, samples is not None), encoding="utf-8")
    return target


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenzooError(f"{directory} is not a pretrained folder: it has no {CONFIG}.") from None
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{path} is not valid JSON ({exc}).") from None
    for key in ("name", "config"):
        if key not in data:
            raise GenzooError(f"{path} lacks the field {key!r}; it was not written by genzoo's save_pretrained.")
    return data


def load_weights(model: torch.nn.Module, directory: str | os.PathLike, variant: str = "default") -> None:
    """Load weights into ``model``, checking names and shapes; ``variant`` is default, raw or ema."""
    directory = Path(directory)
    state, _ = load_tensors(directory / WEIGHTS)
    use_ema = variant == "ema" or (variant == "default" and (directory / EMA_WEIGHTS).is_file())
    if variant == "ema" and not (directory / EMA_WEIGHTS).is_file():
        raise GenzooError(f"{directory} has no EMA weights ({EMA_WEIGHTS}); use variant='raw'.")
    if use_ema:
        ema, _ = load_tensors(directory / EMA_WEIGHTS)
        state.update(ema)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        def show(names: list[str]) -> str:
            return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

        shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong]
        parts = [
            f"missing: {show(missing)}" if missing else "",
            f"unexpected: {show(unexpected)}" if unexpected else "",
            f"wrong shape: {show(shapes)}" if wrong else "",
        ]
        problems = "; ".join(p for p in parts if p)
        raise GenzooError(f"{directory / WEIGHTS} does not match the model's config ({problems}).")
    model.load_state_dict(state)
