"""A pretrained folder's README.md: the model card, rendered from its config.json.

It says what the weights are (name, family, plugin, tags, data), how to load them (a usage
snippet naming the real location: the folder, or the hub location of a pushed copy), how
they score (each metric with its protocol, also as the Hub's ``model-index`` header) and
how they were made (``provenance``: data and its content hash, steps, batch, seed, wall
time, machine, versions, the command). Pure text work, no torch: ``genzoo push`` renders
the card for its destination without loading a model.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import Any

from .errors import GenzooError
from .metrics.protocol import Score, model_index

CARD = "README.md"
SAMPLES = "samples.png"
USAGE_BEGIN, USAGE_END = "<!-- genzoo:usage -->", "<!-- /genzoo:usage -->"


def with_scores(info: dict[str, Any], scores: Sequence[Score], *, data: str = "", split: str = "",
                source: str = "") -> dict[str, Any]:
    """``info`` (a config.json) with ``scores`` as its ``eval_scores`` and the Hub's ``model-index``
    (``eval_results``) for ``data``/``split`` (default: the first score's real side)."""
    real = scores[0].protocol
    return {**info, "eval_scores": [s.to_dict() for s in scores],
            "eval_results": model_index(scores, data=data or real.real_data, split=split or real.real_split,
                                        name=info.get("name") or source or real.real_data)}


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
    imported = p.get("imported") or {}  # weights converted from another project's checkpoint (genzoo import)
    if imported:
        rows += [("Imported from", f"`{imported.get('file')}` (sha256 `{imported.get('sha256')}`)"),
                 ("Format", f"`{imported.get('format')}`"), ("Upstream project", imported.get("upstream") or "?"),
                 ("License", info.get("license") or "not stated: fill in the upstream weights' license here and in "
                                                    "config.json (`license`)"),
                 *((k, str(v)) for k, v in imported.items() if k not in ("file", "sha256", "format", "upstream"))]
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
