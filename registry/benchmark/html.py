"""report.html: one self-contained page (every image a base64 data URI) a reader can open or mail.

Plots are drawn with matplotlib's Agg backend: a bar chart per metric with error bars over
seeds, quality against training cost, each model's training losses (and evaluation curves
when the runs logged any), and a sample grid per model. A small script records, once the
page has loaded, how many images decoded; a headless browser test reads it from the DOM. The page's
stylesheet, plot embedding and script are genzoo.core.html_report's, shared with ``genzoo tune show``.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
from pathlib import Path
from typing import Any

from PIL import Image

from genzoo.core.atomic import atomic_write_text
from genzoo.core.html_report import figure_png as _png
from genzoo.core.html_report import image_tag as _img
from genzoo.core.html_report import page
from genzoo.core.html_report import pyplot as _plt

from .cells import cell_run
from .report import best_labels, fmt, header, protocol_lines, table_rows

MAX_GRID_PX = 256


def _bar_chart(summary: dict[str, Any], col: dict[str, Any]) -> str | None:
    models = [m for m in summary["models"] if "mean" in m["scores"][col["score"]]]
    if not models:
        return None
    plt = _plt()
    best = best_labels(summary["models"], col)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(models) + 1.5), 3.2))
    stats = [m["scores"][col["score"]] for m in models]
    colors = ["#2e7d32" if m["label"] in best else "#5b8def" for m in models]
    ax.bar(range(len(models)), [s["mean"] for s in stats], yerr=[s["std"] or 0 for s in stats], capsize=4,
           color=colors)
    ax.set_xticks(range(len(models)), [m["label"] for m in models], rotation=25, ha="right")
    ax.set_title(f"{header(col)}  (mean ± std over seeds; green = best)")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _scatter(summary: dict[str, Any]) -> str | None:
    cols = [c for c in summary["columns"] if any("mean" in m["scores"][c["score"]] for m in summary["models"])]
    models = [m for m in summary["models"] if m.get("train_seconds")]
    if not cols or not models:
        return None
    plt = _plt()
    ncol = min(3, len(cols))
    nrow = (len(cols) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, cols):
        for m in models:
            s = m["scores"][col["score"]]
            if "mean" not in s:
                continue
            t = m["train_seconds"]
            ax.errorbar(t["mean"], s["mean"], xerr=t["std"] or 0, yerr=s["std"] or 0, fmt="o", capsize=3)
            ax.annotate(m["label"], (t["mean"], s["mean"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel("train seconds")
        ax.set_ylabel(header(col))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    fig.suptitle("quality vs training cost")
    fig.tight_layout()
    return _png(fig)


def _curves(out: Path, summary: dict[str, Any], label: str, prefix: str) -> str | None:
    """One panel per logged key (losses, or eval.* scores), one line per seed."""
    series: dict[str, dict[int, tuple[list[float], list[float]]]] = {}
    for c in summary["cells"]:
        if c["label"] != label or c["status"] != "ok" or not c.get("losses"):
            continue
        for row in cell_run(out / c["dir"]).read_logs():
            for k, v in row.items():
                wanted = k.startswith("eval.") if prefix == "eval." else k.endswith("loss")
                if wanted and isinstance(v, (int, float)):
                    xs, ys = series.setdefault(k, {}).setdefault(c["seed"], ([], []))
                    xs.append(row.get("step", len(xs)))
                    ys.append(v)
    if not series:
        return None
    plt = _plt()
    keys = sorted(series)[:6]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes.flat, keys):
        for seed, (xs, ys) in sorted(series[k].items()):
            ax.plot(xs, ys, lw=1.2, label=f"seed {seed}")
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(label, fontsize=11)
    fig.tight_layout()
    return _png(fig)


def _grid(out: Path, summary: dict[str, Any], label: str) -> str | None:
    for c in summary["cells"]:
        if c["label"] == label and c["status"] == "ok" and c.get("grid"):
            path = out / c["dir"] / c["grid"]
            if not path.is_file():
                continue
            with Image.open(path) as im:
                im = im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode)
                if max(im.size) > MAX_GRID_PX:
                    im.thumbnail((MAX_GRID_PX, MAX_GRID_PX), Image.LANCZOS)
                buf = io.BytesIO()
                im.save(buf, format="PNG", optimize=True)
            return base64.b64encode(buf.getvalue()).decode("ascii")
    return None


def _table(summary: dict[str, Any]) -> str:
    head, rows = table_rows(summary)
    left = {"model", "budget"}
    th = "".join(f'<th class="{"l" if h in left else ""}">{html.escape(h)}</th>' for h in head)
    body = []
    for row in rows:
        tds = []
        for h, (text, best) in zip(head, row):
            cls = "best" if best else ("na" if text.startswith("n/a") else ("l" if h in left else ""))
            tds.append(f'<td class="{cls}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table class="results"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _cells_table(summary: dict[str, Any]) -> str:
    rows = []
    for c in summary["cells"]:
        status = c["status"] if c["status"] == "ok" else f"{c['status']}: {c.get('error', '')}"
        rows.append(f"<tr><td class='l'>{html.escape(c['label'])}</td><td>{c['seed']}</td>"
                    f"<td class='l'>{html.escape(status)}</td><td>{c.get('steps', '-')}</td>"
                    f"<td>{c.get('train_seconds', '-')}</td><td>{c.get('eval_seconds', '-')}</td>"
                    f"<td class='l'><code>{c['key'][:16]}</code></td></tr>")
    return ("<table><thead><tr><th class='l'>model</th><th>seed</th><th class='l'>status</th><th>steps</th>"
            "<th>train s</th><th>eval s</th><th class='l'>cell</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def render(out: Path, summary: dict[str, Any]) -> str:
    e = html.escape
    plots = _have_matplotlib()
    suite, mach, p = summary["suite"], summary["machine"], summary["suite"]["protocol"]
    parts = [f"<h1>Benchmark: {e(suite['name'])}</h1>", f"<p>{e(suite.get('description', ''))}</p>",
             "<ul class='meta'>",
             f"<li>command: <code>{e(summary['command'])}</code></li>",
             f"<li>date (UTC): {e(summary['date'])}</li>",
             f"<li>machine: {e(mach['cpu'])} ({mach['cpu_count']} cores)"
             f"{e(', ' + mach['gpu']) if mach['gpu'] else ''}; "
             f"{e(mach['platform'])}; python {e(mach['python'])}, torch {e(mach['torch'])}, "
             f"genzoo {e(summary['genzoo_version'])}</li>",
             f"<li>real data: {e(p['data'])} [{e(p['split'])}], n = {p['n']} per side, features "
             f"<code>{e(p['features'])}</code>; mean ± std over seeds; best per column highlighted</li>",
             *([f"<li>not in this report (no finished cell in this folder): {e(', '.join(summary['unreported']))}</li>"]
               if summary.get("unreported") else []),
             "</ul>",
             "<h2>Results</h2>", _table(summary)]
    if not plots:
        parts.append("<p><b>matplotlib is not installed, so this report has no plots</b> "
                     "(<code>pip install matplotlib</code>, then rerun the same command: nothing is retrained).</p>")
    charts = [(c, _bar_chart(summary, c)) for c in summary["columns"]] if plots else []
    charts = [(c, img) for c, img in charts if img]
    if charts:
        parts.append("<h2>Metrics</h2><div class='grid'>")
        parts += [f"<figure>{_img(img, header(c))}</figure>" for c, img in charts]
        parts.append("</div>")
    scatter = _scatter(summary) if plots else None
    if scatter:
        parts += ["<h2>Quality vs cost</h2>", _img(scatter, "quality vs training seconds")]
    grids = [(m, _grid(out, summary, m["label"])) for m in summary["models"]]
    grids = [(m, g) for m, g in grids if g]
    if grids:
        parts.append("<h2>Samples</h2><div class='grid'>")
        for m, g in grids:
            first = next(s for s in summary["cells"] if s["label"] == m["label"] and s["status"] == "ok")
            parts.append(f"<figure>{_img(g, 'samples ' + m['label'])}<figcaption>{e(m['label'])} "
                         f"(seed {first['seed']})</figcaption></figure>")
        parts.append("</div>")
    for title, prefix in (("Training losses", "loss"), ("Evaluation curves", "eval.")) if plots else ():
        imgs = [(m, _curves(out, summary, m["label"], prefix)) for m in summary["models"]]
        imgs = [(m, i) for m, i in imgs if i]
        if imgs:
            parts.append(f"<h2>{title}</h2>")
            parts += [_img(i, f"{title.lower()} {m['label']}") for m, i in imgs]
    parts += ["<h2>Protocols</h2><ul class='small'>"] + [f"<li>{e(x)}</li>" for x in protocol_lines(summary)]
    parts += ["</ul>", "<h2>Cells</h2>", _cells_table(summary)]
    na = [(m["label"], c["score"], fmt(m["scores"][c["score"]])) for m in summary["models"] for c in summary["columns"]
          if "na" in m["scores"][c["score"]]]
    if na:
        parts += ["<h2>Not scored</h2><ul class='small'>"] + [f"<li>{e(a)} / {e(b)}: {e(t)}</li>" for a, b, t in na]
        parts.append("</ul>")
    return page(f"genzoo bench {suite['name']}", parts)


def write_html(out: Path, summary: dict[str, Any]) -> Path:
    path = Path(out) / "report.html"
    atomic_write_text(path, render(Path(out), summary))
    return path
