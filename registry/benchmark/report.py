"""From finished cells to a ranking: mean ± std over seeds, one protocol per column, as text.

The summary is built from the cells' result files only, so a report can be rewritten
without running anything; this module renders it for the terminal, Markdown and CSV (html.py
renders the page, publish.py writes every file). A column holds numbers measured under one protocol: a cell whose
score was measured differently (another extractor, sample count, split, ...) shows
"n/a (protocol differs: ...)" in that column rather than a number that only looks comparable.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from genzoo.core.metrics.protocol import SOFT_FIELDS, Protocol, explain

from ..zoo import get_zoo
from .cells import Cell
from .suite import Budget, score_names

FORMAT = "genzoo-bench/1"


# -- aggregation ------------------------------------------------------------------------------


def _direction(metric: str) -> bool:
    spec = get_zoo().metrics.get(metric)
    return bool(spec.higher_is_better) if spec else False


def _columns(metrics: list[str], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cols: dict[str, str] = {s: m for m in metrics for s in score_names(m)}
    for r in results:  # scores of third-party metrics with their own names
        for name, s in r["scores"].items():
            cols.setdefault(name, s["protocol"].get("metric", name))
    return [{"score": s, "metric": m, "higher_is_better": _direction(m)} for s, m in cols.items()]


def _comparable_key(protocol: dict[str, Any]) -> str:
    fields = Protocol.from_dict(protocol).to_dict()  # as read back, so that older files compare too
    return json.dumps({k: v for k, v in fields.items() if k not in SOFT_FIELDS}, sort_keys=True, default=str)


def _enforce_protocols(columns: list[dict[str, Any]], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference protocol of each column (the one most cells used); other cells' scores become n/a."""
    protocols = {}
    for col in columns:
        name = col["score"]
        seen = [c for c in cells if name in c["scores"]]
        if not seen:
            continue
        keys = [_comparable_key(c["scores"][name]["protocol"]) for c in seen]
        common = Counter(keys).most_common(1)[0][0]
        ref = seen[keys.index(common)]["scores"][name]["protocol"]
        protocols[name] = Protocol.from_dict(ref).to_dict()
        for c in seen:
            p = c["scores"][name]["protocol"]
            if _comparable_key(p) != common:
                why = explain(Protocol.from_dict(p), Protocol.from_dict(ref))
                c["na"][name] = f"protocol differs from the column's ({why})"
                del c["scores"][name]
    return protocols


def _stats(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values), "values": values}


def summarize(cells: list[Cell], done: dict[str, dict[str, Any]], failed: dict[str, dict[str, Any]],
              meta: dict[str, Any], out: Path) -> dict[str, Any]:
    rows = []
    for c in cells:
        r = done.get(c.key)
        if r is not None and r.get("status") == "diverged":
            rows.append({"label": c.model.label, "seed": c.seed, "key": c.key, "dir": str(c.dir(out).relative_to(out)),
                         "status": "diverged", "steps": r["steps"], "error": r["diverged"], "scores": {}, "na": {}})
        elif r is not None:
            rows.append({"label": c.model.label, "seed": c.seed, "key": c.key, "dir": str(c.dir(out).relative_to(out)),
                         "status": "ok", "steps": r["steps"], "stopped": r.get("stopped", ""),
                         "train_seconds": r["train_seconds"], "eval_seconds": r["eval_seconds"],
                         "params": r["params"], "scores": {k: dict(v) for k, v in r["scores"].items()},
                         "na": dict(r["na"]), "notes": r.get("notes", []), "grid": r.get("grid", ""),
                         "losses": r.get("losses", "")})
        else:
            err = failed.get(c.key, {"error": "not run"})
            rows.append({"label": c.model.label, "seed": c.seed, "key": c.key, "dir": str(c.dir(out).relative_to(out)),
                         "status": "failed" if c.key in failed else "missing", "error": err.get("error", ""),
                         "scores": {}, "na": {}})
    ok = [r for r in rows if r["status"] == "ok"]
    columns = _columns(list(meta["suite"]["protocol"]["metrics"]), ok)
    protocols = _enforce_protocols(columns, ok)
    models = []
    for m in meta["suite"]["models"]:
        mine = [r for r in rows if r["label"] == m["label"]]
        good = [r for r in mine if r["status"] == "ok"]
        entry: dict[str, Any] = {"label": m["label"], "model": m["model"], "budget": _budget_text(m["budget"]),
                                 "seeds": [r["seed"] for r in good], "scores": {},
                                 "failed": [{"seed": r["seed"], "error": r.get("error", "")}
                                            for r in mine if r["status"] in ("failed", "missing")],
                                 "diverged": [{"seed": r["seed"], "error": r["error"]}
                                              for r in mine if r["status"] == "diverged"]}
        if good:
            entry["params"] = good[0]["params"]
            entry["steps"] = _stats([float(r["steps"]) for r in good])
            if m["budget"]["kind"] == "recipe":  # say how long the recipe is, not only whose it is
                entry["budget"] += f" ({entry['steps']['mean']:,.0f} steps)"
            entry["train_seconds"] = _stats([float(r["train_seconds"]) for r in good])
        for col in columns:
            name = col["score"]
            values = [r["scores"][name]["value"] for r in good if name in r["scores"]]
            if entry["diverged"]:  # a recipe that diverges on some seed is not ranked by the others' scores
                entry["scores"][name] = {"diverged": f"{len(entry['diverged'])} of {len(mine)} seeds"}
            elif values:
                entry["scores"][name] = _stats(values)
            else:
                reasons = [r["na"][name] for r in good if name in r["na"]]
                entry["scores"][name] = {"na": reasons[0] if reasons else
                                         (f"failed: {entry['failed'][0]['error']}" if entry["failed"] else "not run")}
        models.append(entry)
    _rank(models, columns)
    return {"format": FORMAT, **meta, "columns": columns, "protocols": protocols, "models": models, "cells": rows}


def _budget_text(budget: dict[str, Any]) -> str:
    return Budget(budget["kind"], budget["value"]).describe()


def best_labels(models: list[dict[str, Any]], col: dict[str, Any]) -> set[str]:
    vals = {m["label"]: m["scores"][col["score"]]["mean"] for m in models if "mean" in m["scores"][col["score"]]}
    if not vals:
        return set()
    if len(vals) > 1 and len(set(vals.values())) == 1:
        return set()  # a tie across every model is not a win
    best = max(vals.values()) if col["higher_is_better"] else min(vals.values())
    return {label for label, v in vals.items() if v == best}


def _rank(models: list[dict[str, Any]], columns: list[dict[str, Any]]) -> None:
    """Rank by the first column that has numbers (the suite's first metric); unscored models last, unranked."""
    col = next((c for c in columns if any("mean" in m["scores"][c["score"]] for m in models)), None)
    for m in models:
        m["rank"] = None
    if col is None:
        return
    sign = -1 if col["higher_is_better"] else 1
    scored = sorted((m for m in models if "mean" in m["scores"][col["score"]]),
                    key=lambda m: sign * m["scores"][col["score"]]["mean"])
    for i, m in enumerate(scored, 1):
        m["rank"] = i
    models.sort(key=lambda m: (m["rank"] is None, m["rank"] or 0))


# -- formats ----------------------------------------------------------------------------------


def fmt(stat: dict[str, Any], width: int = 0) -> str:
    if "diverged" in stat:
        return f"diverged ({stat['diverged']})"
    if "na" in stat:
        reason = stat["na"]
        if width and len(reason) > width:
            reason = reason[: width - 1] + "…"
        return f"n/a ({reason})"
    text = f"{stat['mean']:.4g}"
    if stat.get("std") is not None:
        text += f" ± {stat['std']:.2g}"
    return text


def header(col: dict[str, Any]) -> str:
    return f"{col['score']} {'↑' if col['higher_is_better'] else '↓'}"


def table_rows(summary: dict[str, Any], width: int = 0) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows of (text, is_best) shared by the terminal, Markdown and HTML tables."""
    cols = summary["columns"]
    best = {c["score"]: best_labels(summary["models"], c) for c in cols}
    head = ["rank", "model", "budget", "seeds", *(header(c) for c in cols), "train s", "params"]
    rows = []
    for m in summary["models"]:
        ts = m.get("train_seconds")
        row = [(str(m["rank"] or "-"), False), (m["label"], False), (m["budget"], False), (str(len(m["seeds"])), False)]
        row += [(fmt(m["scores"][c["score"]], width), m["label"] in best[c["score"]]) for c in cols]
        row += [(fmt(ts) if ts else "-", False), (f"{m['params'] / 1e6:.2f}M" if "params" in m else "-", False)]
        rows.append(row)
    return head, rows


def terminal_table(summary: dict[str, Any]) -> Any:
    suite = summary["suite"]
    p = suite["protocol"]
    title = escape(f"{suite['name']}: {p['data']} [{p['split']}], n={p['n']}, features {p['features']}")
    table = Table(title=title, title_justify="left", header_style="bold")
    head, rows = table_rows(summary, width=36)
    for h in head:
        table.add_column(h, justify="right" if h not in ("model", "budget") else "left")
    for row in rows:
        table.add_row(*(f"[bold green]{escape(t)}[/]" if best else
                        (f"[dim]{escape(t)}[/]" if t.startswith("n/a") else escape(t)) for t, best in row))
    return table


def protocol_lines(summary: dict[str, Any]) -> list[str]:
    out = []
    for name, p in summary["protocols"].items():
        params = ", ".join(f"{k}={v}" for k, v in (p.get("params") or {}).items())
        ex = f"{p['extractor']} (sha256 {p['extractor_sha256'][:12]})" if p.get("extractor") else "no extractor"
        out.append(f"{name}: {ex}; {p.get('real_data')} [{p.get('real_split')}]; n_real={p.get('n_real')} "
                   f"n_fake={p.get('n_fake')}; seed={p.get('seed')}; {p.get('channels') or '-'}; "
                   f"{p.get('resize') or '-'}; {params or '-'}; genzoo {p.get('genzoo_version')}")
    return out


def markdown(summary: dict[str, Any]) -> str:
    head, rows = table_rows(summary)
    suite, mach = summary["suite"], summary["machine"]
    lines = [f"# Benchmark: {suite['name']}", "", suite.get("description", ""), "",
             f"- command: `{summary['command']}`", f"- date (UTC): {summary['date']}",
             f"- machine: {mach['cpu']} ({mach['cpu_count']} cores){', ' + mach['gpu'] if mach['gpu'] else ''}; "
             f"{mach['platform']}; python {mach['python']}, torch {mach['torch']}, genzoo {summary['genzoo_version']}",
             f"- real data: {suite['protocol']['data']} [{suite['protocol']['split']}], n = {suite['protocol']['n']} "
             f"per side, features {suite['protocol']['features']}; mean ± std over seeds; best per column in bold",
             *([f"- not in this report (no finished cell in this folder): {', '.join(summary['unreported'])}"]
               if summary.get("unreported") else []),
             "", "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(f"**{t}**" if best else t for t, best in row) + " |")
    lines += ["", "## Protocols", ""] + [f"- {line}" for line in protocol_lines(summary)]
    failures = [f"- {m['label']} seed {f['seed']}: {f['error']}" for m in summary["models"] for f in m["failed"]]
    if failures:
        lines += ["", "## Failed or missing cells", "", *failures]
    diverged = [f"- {m['label']} seed {f['seed']}: {f['error']}" for m in summary["models"]
                for f in m.get("diverged", [])]
    if diverged:
        lines += ["", "## Diverged cells", "", *diverged]
    return "\n".join(lines) + "\n"


def csv_text(summary: dict[str, Any]) -> str:
    cols = [c["score"] for c in summary["columns"]]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["rank", "model", "registered", "budget", "seeds", "params", "steps_mean", "train_seconds_mean",
                "train_seconds_std", *(f"{c}_{k}" for c in cols for k in ("mean", "std", "n", "na"))])
    for m in summary["models"]:
        ts, st = m.get("train_seconds", {}), m.get("steps", {})
        row = [m["rank"] or "", m["label"], m["model"], m["budget"], len(m["seeds"]), m.get("params", ""),
               st.get("mean", ""), ts.get("mean", ""), ts.get("std") if ts.get("std") is not None else ""]
        for c in cols:
            s = m["scores"][c]
            row += [s.get("mean", ""), s.get("std") if s.get("std") is not None else "", s.get("n", 0),
                    s.get("na", "") or (f"diverged ({s['diverged']})" if "diverged" in s else "")]
        w.writerow(row)
    return buf.getvalue()

