"""Writing a benchmark's reports: results.json, results.csv, results.md and report.html in OUT.

Every file is written atomically from the summary that report.summarize builds out of the
cells' result files, so rerunning a finished suite rewrites the reports without training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genzoo.core.atomic import atomic_write_text

from .cells import Cell
from .html import write_html
from .report import csv_text, markdown, summarize


def write_reports(out: Path, cells: list[Cell], done: dict[str, dict[str, Any]], failed: dict[str, dict[str, Any]],
                  meta: dict[str, Any]) -> dict[str, Any]:
    """results.json, results.csv, results.md and report.html in ``out``; returns the summary."""
    summary = summarize(cells, done, failed, meta, out)
    atomic_write_text(out / "results.json", json.dumps(summary, indent=2, default=str) + "\n")
    atomic_write_text(out / "results.csv", csv_text(summary))
    atomic_write_text(out / "results.md", markdown(summary))
    write_html(out, summary)
    return summary
