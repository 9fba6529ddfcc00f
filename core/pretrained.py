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
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_dir
from .config import to_dict
from .errors import GenzooError
from .images import save_grid
from .metrics.protocol import Score, model_index
from .rundir import PRETRAINED_CONFIG, usage_location
from .tensorfile import load_tensors, save_tensors
from .version import __version__

CONFIG = PRETRAINED_CONFIG  # named once, in rundir, which must know it without importing torch
WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "model.ema.safetensors"
CARD = "README.md"
SAMPLES = "samples.png"
USAGE_BEGIN, USAGE_END = "<!-- genzoo:usage -->", "<!-- /genzoo:usage -->"
FORMAT_VERSION = 1


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _cell(value: Any) -> str:
    return str(value).replace("\n", " ").replace("|", "\\|")


def _fence(text: str, lang: str) -> list[str]:
    """``text`` in a code block whose fence is longer than any backtick run inside it."""
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, run + 1)
    return [fence + lang, text, fence]


def _provenance(info: dict[str, Any]) -> list[str]:
    """"## How it was made": data, steps, batch, seed, wall time, machine, versions, and the command."""
    p = info.get("provenance") or {}
    if not p:
        return []
    rows: list[tuple[str, str]] = []
    data = p.get("data") or {}
    if isinstance(data, dict) and data.get("name"):
        detail = [f"{data['images']:,} images" if isinstance(data.get("images"), int) else "",
                  f"sha256 `{data['sha256']}`" if data.get("sha256") else ""]
        rows.append(("Data", f"`{data['name']}`" + (f" ({'; '.join(d for d in detail if d)})" if any(detail) else "")))
    if p.get("steps") is not None:
        rows.append(("Steps", f"{p['steps']:,}" + (f" (stopped: {p['stopped']})" if p.get("stopped") else "")))
    if p.get("epochs"):
        rows.append(("Epochs", str(p["epochs"])))
    for key, label in (("batch_size", "Batch size"), ("seed", "Seed")):
        if p.get(key) is not None:
            rows.append((label, str(p[key])))
    if p.get("wall_time_s") is not None:
        rows.append(("Wall time", _duration(float(p["wall_time_s"]))))
    if p.get("machine"):
        rows.append(("Machine", p["machine"]))
    rows.append(("genzoo", p.get("genzoo_version") or info.get("genzoo_version") or "?"))
    if info.get("plugin"):
        rows.append(("Plugin", f"`{info['plugin']}` {p.get('plugin_version') or ''}".rstrip()))
    lines = ["## How it was made", "", "| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows), ""]
    if p.get("command"):
        lines += ["The command that made these weights:", "", *_fence(p["command"], "bash"), ""]
    if p.get("resumed_by"):
        lines += ["resumed with:", "", *_fence(p["resumed_by"], "bash"), ""]
    return lines


def _scores(info: dict[str, Any]) -> list[str]:
    scores = info.get("eval_scores") or []
    if not scores:
        return []
    lines = ["## Evaluation", "", "| metric | value | real data | extractor | n real / fake |", "|---|---|---|---|---|"]
    for s in scores:
        p = s.get("protocol", {})
        data = f"{p.get('real_data', '')} ({p.get('real_split', '')})" if p.get("real_data") else ""
        lines.append(f"| {_cell(s.get('name', ''))} | {float(s.get('value', 'nan')):.5g} | {_cell(data)} | "
                     f"{_cell(p.get('extractor', ''))} | {p.get('n_real', '')} / {p.get('n_fake', '')} |")
    return [*lines, "", "Each metric's full protocol is in the `model-index` header above.", ""]


def _usage(info: dict[str, Any], location: str) -> list[str]:
    """The usage snippets for ``location``, between the markers ``retarget_card`` finds them by."""
    caps = set(info.get("capabilities") or ())
    lines = [USAGE_BEGIN, "", "```python", "import genzoo", "", f"model = genzoo.create_model({json.dumps(location)})"]
    if "sample" in caps:
        lines.append("images = model.sample(16)  # (16, C, H, W) in [-1, 1]")
        if "conditional" in caps:
            lines.append("# classes: model.sample(16, labels=torch.tensor([...]))")
    elif "translate" in caps:
        lines.append('fake_b = model.translate(images_a, "a2b")  # (N, C, H, W) in [-1, 1], both ways: "b2a"')
    elif "reconstruct" in caps:
        lines.append("recon = model.reconstruct(images)  # (N, C, H, W), normalised as model.preprocessing says")
    lines += ["```", ""]
    if "sample" in caps:
        lines += ["or on the command line:", "", "```bash",
                  f"genzoo sample {shlex.quote(location)} --n 16 --out samples.png", "```", ""]
    return [*lines, USAGE_END]


def model_card(info: dict[str, Any], *, has_samples: bool, location: str) -> str:
    """README.md of a pretrained folder, rendered from its config.json (``info``).

    ``location`` is where the weights are loaded from, written into the usage snippet: the
    folder (``usage_location``) for a local save, the hub location for a pushed copy.
    """
    if not location:
        raise GenzooError("model_card needs the location the weights load from (a folder or a hub location).")
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
    lines += ["---", "", f"# {info.get('name') or 'genzoo model'}", ""]
    if info.get("description"):
        lines += [info["description"], ""]
    if has_samples:
        lines += [f"![samples]({SAMPLES})", ""]
    lines += ["## Use", "", *_usage(info, location), ""]
    lines += _scores(info)
    lines += _provenance(info)
    lines += [f"Family `{info.get('family')}` from plugin `{info.get('plugin')}`"
              + (f" (distribution `{info['distribution']}`)" if info.get("distribution") else "") + ".", ""]
    return "\n".join(lines)


def retarget_card(card: str | None, info: dict[str, Any], *, has_samples: bool, location: str) -> str:
    """A folder's card (``card``: its README.md, None when it has none) as published at ``location``.

    The usage snippets, between their markers, are rendered for ``location``; the rest stays as
    written, hand edits included. A card without the markers (none, or one from an older genzoo,
    whose snippet was a placeholder) is rendered afresh from config.json (``info``).
    """
    start = card.find(USAGE_BEGIN) if card else -1
    end = card.find(USAGE_END, start) if card and start >= 0 else -1
    if card is None or start < 0 or end < 0:
        return model_card(info, has_samples=has_samples, location=location)
    return card[:start] + "\n".join(_usage(info, location)) + card[end + len(USAGE_END):]


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
        real = scores[0].protocol  # which data and split the scores were measured against
        config["eval_scores"] = [s.to_dict() for s in scores]
        config["eval_results"] = model_index(scores, data=real.real_data, split=real.real_split,
                                             name=meta.name or real.real_data)
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
