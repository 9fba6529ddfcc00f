"""Benchmarks: train (or pull) several models under one protocol, score them, rank them, report.

A suite is declared in zoo.toml (``[suites.NAME]``); running it expands into cells, one per
model and seed, each keyed by everything that decides its numbers, so an interrupted
benchmark picks up where it stopped and a finished cell is never recomputed. Reports are
written from the cells' result files alone: terminal table, results.json/csv/md and a
self-contained report.html.

    suite     suites from the catalog, and what each metric needs and scores
    cells     cell keys and folders            runner    running the cells
    report    summary, ranking, text tables    html      report.html
    publish   writing every report file        compare   ``genzoo bench compare``

Reading suites, reports and comparisons imports no torch, so ``genzoo bench list`` and
``genzoo bench compare`` answer at once; ``runner`` (``run_suite``), which trains and scores,
imports torch and the training, model and evaluation layers, and is imported only to run.
"""

from .compare import compare_results
from .suite import Budget, Suite, SuiteModel, list_suites, load_suite

__all__ = ["Budget", "Suite", "SuiteModel", "compare_results", "list_suites", "load_suite"]
