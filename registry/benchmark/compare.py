"""``genzoo bench compare A.json B.json``: what changed between two benchmark results.

Per model and column: both means, the difference and whether it is an improvement (in
the metric's own direction). A difference is only meaningful under the same protocol, so a
column whose protocol changed is flagged with the fields that differ, as are models or
columns present on one side only and models whose budget changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from genzoo.core.errors import GenzooError
from genzoo.core.metrics.protocol import SOFT_FIELDS, Protocol, differences, explain

from .report import FORMAT


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenzooError(f"{path} does not exist (give the results.json of a `genzoo bench` run).") from None
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GenzooError(f"{path} is not a genzoo benchmark results file (format {FORMAT!r}).")
    return data


def compare_results(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Rows (model, score, a, b, delta, better) and flags (protocol changes, missing models/columns)."""
    flags: list[str] = []
    if a["suite"]["name"] != b["suite"]["name"]:
        flags.append(f"different suites: {a['suite']['name']!r} vs {b['suite']['name']!r}")
    cols_a = {c["score"]: c for c in a["columns"]}
    cols_b = {c["score"]: c for c in b["columns"]}
    protocol_changes = {}
    for name in sorted(set(cols_a) & set(cols_b)):
        pa, pb = a["protocols"].get(name), b["protocols"].get(name)
        if pa and pb:
            fa, fb = Protocol.from_dict(pa), Protocol.from_dict(pb)
            hard = [d for d in differences(fa, fb) if d not in SOFT_FIELDS]
            if hard:
                protocol_changes[name] = explain(fa, fb)
                flags.append(f"PROTOCOL CHANGED for {name}: {protocol_changes[name]}")
            elif differences(fa, fb):
                flags.append(f"{name}: same protocol, different software ({explain(fa, fb)})")
    for name in sorted(set(cols_a) - set(cols_b)):
        flags.append(f"column {name} only in A")
    for name in sorted(set(cols_b) - set(cols_a)):
        flags.append(f"column {name} only in B")
    models_a = {m["label"]: m for m in a["models"]}
    models_b = {m["label"]: m for m in b["models"]}
    missing = {"only_a": sorted(set(models_a) - set(models_b)), "only_b": sorted(set(models_b) - set(models_a))}
    flags += [f"model {x} missing from B" for x in missing["only_a"]]
    flags += [f"model {x} missing from A" for x in missing["only_b"]]
    rows = []
    for label in [m["label"] for m in a["models"] if m["label"] in models_b]:
        ma, mb = models_a[label], models_b[label]
        if ma["budget"] != mb["budget"]:
            flags.append(f"{label}: budget changed ({ma['budget']} -> {mb['budget']})")
        for name in [c for c in cols_a if c in cols_b]:
            sa, sb = ma["scores"].get(name, {}), mb["scores"].get(name, {})
            row = {"model": label, "score": name, "a": sa.get("mean"), "b": sb.get("mean"),
                   "a_std": sa.get("std"), "b_std": sb.get("std"), "a_na": sa.get("na"), "b_na": sb.get("na"),
                   "delta": None, "better": None, "protocol_changed": name in protocol_changes}
            if row["a"] is not None and row["b"] is not None:
                row["delta"] = row["b"] - row["a"]
                higher = cols_a[name]["higher_is_better"]
                row["better"] = None if row["delta"] == 0 else (row["delta"] > 0) == higher
            rows.append(row)
    return {"a": {"suite": a["suite"]["name"], "date": a.get("date")},
            "b": {"suite": b["suite"]["name"], "date": b.get("date")},
            "flags": flags, "protocol_changes": protocol_changes, "missing_models": missing, "rows": rows}


def compare_table(diff: dict[str, Any], a_name: str, b_name: str) -> Any:
    table = Table("model", "score", f"A ({a_name})", f"B ({b_name})", "Δ (B − A)", "", header_style="bold",
                  title="benchmark comparison", title_justify="left")
    for r in diff["rows"]:
        a = f"{r['a']:.4g}" if r["a"] is not None else f"n/a ({r['a_na']})"
        b = f"{r['b']:.4g}" if r["b"] is not None else f"n/a ({r['b_na']})"
        if r["delta"] is None:
            delta, mark = "-", ""
        else:
            delta = f"{r['delta']:+.4g}"
            mark = "[green]better[/]" if r["better"] else ("[red]worse[/]" if r["better"] is False else "same")
        if r["protocol_changed"]:
            mark = "[bold yellow]protocol changed[/]"
        table.add_row(r["model"], r["score"], a, b, delta, mark)
    return table
