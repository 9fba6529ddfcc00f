"""``genzoo tune show``: a study's best trials as a table, its plots as PNG files and one HTML page.

The page is drawn in the bench report's style (genzoo.core.html_report): what was tuned and how
it was scored (the protocol stamped on the trials), the best trials, the optimisation history,
each trial's intermediate scores (where pruning acted) and the parameters' importance. Importance
needs at least two completed trials whose parameters differ; the page says so when there are not.
Nothing here imports torch: a study on a remote PostgreSQL server can be shown from a laptop.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from genzoo.core.atomic import atomic_write_bytes, atomic_write_text
from genzoo.core.html_report import image_tag, page, png_bytes, pyplot

from .storage import SETTINGS_ATTR, load_study, optuna_module, quiet, shown


def best_rows(study: Any, top: int) -> list[dict[str, Any]]:
    """The ``top`` completed trials, best first, then how many were pruned or failed is the caller's."""
    optuna = optuna_module()
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    done.sort(key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")
    return [{"rank": i + 1, "trial": t.number, "value": t.value, "params": dict(t.params),
             "steps": t.user_attrs.get("steps"),
             "seconds": round(t.duration.total_seconds(), 1) if t.duration else None,
             "worker": t.user_attrs.get("worker", ""), "pretrained": t.user_attrs.get("pretrained", "")}
            for i, t in enumerate(done[:top])]


def _plots(study: Any, optuna: Any) -> tuple[dict[str, bytes], list[str]]:
    """PNG bytes per plot name, and why a plot is missing."""
    pyplot()  # Agg before optuna's plotting imports pyplot
    vis = optuna.visualization.matplotlib
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == states.COMPLETE]
    plots: dict[str, bytes] = {}
    notes: list[str] = []
    with quiet(optuna):
        if complete:
            plots["history"] = png_bytes(vis.plot_optimization_history(study).figure)
        else:
            notes.append("no optimisation history: no trial has completed yet.")
        if any(t.intermediate_values for t in trials):
            plots["intermediate"] = png_bytes(vis.plot_intermediate_values(study).figure)
        varied = sorted({k for t in complete for k in t.params
                         if len({repr(u.params.get(k)) for u in complete}) > 1})
        if len(complete) < 2 or not varied:
            notes.append(f"no parameter importance: it needs at least 2 completed trials whose parameters differ "
                         f"({len(complete)} completed{', all with the same values' if complete else ''}).")
        else:
            try:
                plots["importance"] = png_bytes(vis.plot_param_importances(study, params=varied).figure)
            except (ValueError, RuntimeError) as exc:  # e.g. a parameter absent from some trials
                notes.append(f"no parameter importance: {exc}")
    return plots, notes


def show_study(url: str, name: str, out: str | Path, top: int = 10) -> dict[str, Any]:
    """Write OUT/history.png, intermediate.png, importance.png (those that can be drawn) and
    OUT/report.html; return the study's summary (rows of the best trials, counts, files, notes)."""
    optuna = optuna_module()
    study = load_study(url, name)
    out = Path(out)
    trials = study.get_trials(deepcopy=False)
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    settings = study.user_attrs.get(SETTINGS_ATTR, {})
    protocol = next((t.user_attrs["protocol"] for t in trials if "protocol" in t.user_attrs), {})
    plots, notes = _plots(study, optuna)
    files = []
    for key, data in plots.items():
        atomic_write_bytes(out / f"{key}.png", data)
        files.append(str(out / f"{key}.png"))
    summary = {"study": name, "storage": shown(url), "direction": study.direction.name.lower(),
               "score": settings.get("score", "value"), "settings": settings, "counts": counts,
               "protocol": protocol, "best": best_rows(study, top), "files": files, "notes": notes,
               "result": study.user_attrs.get("best")}
    atomic_write_text(out / "report.html", render(summary, plots))
    summary["files"].append(str(out / "report.html"))
    return summary


def render(s: dict[str, Any], plots: dict[str, bytes]) -> str:
    e = html.escape
    settings = s["settings"]
    finished = ", ".join(f"{n} {k}" for k, n in s["counts"].items() if n)
    p = s["protocol"]
    parts = [f"<h1>Study: {e(s['study'])}</h1>", "<ul class='meta'>",
             f"<li>storage: <code>{e(s['storage'])}</code></li>",
             f"<li>model: {e(str(settings.get('model', '?')))} on {e(str(settings.get('data', '?')))}; "
             f"{e(s['direction'])} {e(s['score'])}; trials: {e(finished or 'none')}</li>"]
    if p:
        parts.append(f"<li>protocol: {e(str(p.get('metric')))} against {e(str(p.get('real_data')))} "
                     f"[{e(str(p.get('real_split')))}], n_real {p.get('n_real')}, n_fake {p.get('n_fake')}, "
                     f"extractor <code>{e(str(p.get('extractor') or '-'))}</code> "
                     f"{e(str(p.get('extractor_sha256', ''))[:12])}, seed {p.get('seed')}</li>")
    if s["result"]:
        parts.append(f"<li>result: trial {s['result']['trial']}, weights <code>{e(s['result']['pretrained'])}</code>"
                     "</li>")
    parts += ["</ul>", "<h2>Best trials</h2>", _table(s)]
    titles = {"history": "Optimisation history", "intermediate": "Intermediate scores (pruning)",
              "importance": "Parameter importance"}
    for key, title in titles.items():
        if key in plots:
            parts += [f"<h2>{title}</h2>", image_tag(base64.b64encode(plots[key]).decode("ascii"), title)]
    if s["notes"]:
        parts += ["<ul class='small'>"] + [f"<li>{e(n)}</li>" for n in s["notes"]] + ["</ul>"]
    space = settings.get("space", {})
    if space:
        parts += ["<h2>Search space</h2><ul class='small'>"]
        parts += [f"<li><code>{e(k)}</code>: {e(str(v))}</li>" for k, v in space.items()] + ["</ul>"]
    return page(f"genzoo tune {s['study']}", parts)


def _table(s: dict[str, Any]) -> str:
    e = html.escape
    names = list(dict.fromkeys(k for r in s["best"] for k in r["params"]))
    head = ["rank", "trial", s["score"], *names, "steps", "seconds", "worker", "weights"]
    th = "".join(f"<th class='{'l' if h in ('worker', 'weights') else ''}'>{e(h)}</th>" for h in head)
    rows = []
    for r in s["best"]:
        cells = [str(r["rank"]), str(r["trial"]), f"{r['value']:.5g}", *(_fmt(r["params"].get(n)) for n in names),
                 str(r["steps"] if r["steps"] is not None else "-"), str(r["seconds"] or "-")]
        tds = "".join(f"<td class='{'best' if i == 2 and r['rank'] == 1 else ''}'>{e(c)}</td>"
                      for i, c in enumerate(cells))
        rows.append(f"<tr>{tds}<td class='l'>{e(r['worker'])}</td><td class='l'><code>{e(r['pretrained'])}</code>"
                    "</td></tr>")
    return f"<table class='results'><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
