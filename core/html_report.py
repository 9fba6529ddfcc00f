"""The look of genzoo's HTML reports: one self-contained page (every image a base64 data URI).

``genzoo bench`` (report.html) and ``genzoo tune show`` draw their pages with these pieces, so
both read alike: the same stylesheet, plots from matplotlib's Agg backend embedded as PNG,
and a small script that records, once the page has loaded, how many images decoded and how
many result rows it shows (a headless browser test reads them from the DOM).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

DPI = 72

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1150px;color:#222}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:14px}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#f5f5f5}td.l,th.l{text-align:left}td.best{font-weight:bold;background:#e6f4ea;color:#137333}
td.na{color:#999;font-size:12px;text-align:left;max-width:220px}.meta{color:#555;font-size:14px}
.grid{display:flex;flex-wrap:wrap;gap:18px}.grid figure{margin:0;text-align:center;font-size:13px}
img{max-width:100%}code{background:#f5f5f5;padding:1px 4px}.small{font-size:12px;color:#666}
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.dataset.imagesTotal = imgs.length;
  document.body.dataset.images = ok.length;
  document.body.dataset.tableRows = document.querySelectorAll('table.results tbody tr').length;
  document.body.dataset.rendered = 'yes';
});
"""


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    # Deferred: only drawing a plot needs matplotlib (slow to import), and Agg must be chosen before pyplot loads.
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # after use(): the backend is fixed when pyplot loads

    return plt


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()


def figure_png(fig: Any) -> str:
    """The figure as base64 PNG text for a data URI; the figure is closed."""
    return base64.b64encode(png_bytes(fig)).decode("ascii")


def image_tag(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, parts: list[str]) -> str:
    """A whole page: the house stylesheet, ``parts`` (HTML fragments) and the load-check script."""
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + f"<script>{SCRIPT}</script></body></html>\n")
