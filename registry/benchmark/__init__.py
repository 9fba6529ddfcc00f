"""Benchmarks: train (or pull) several models under one protocol, score them, rank them, report.

A suite is declared in zoo.toml (``[suites.NAME]``); running it expands into cells, one per
model and seed, each keyed by everything that decides its numbers, so an interrupted
benchmark picks up where it stopped and a finished cell is never recomputed. Reports are
written from the cells' result files alone: terminal table, results.json/csv/md and a
self-contained report.html.

Importing this package imports no torch; ``run_suite`` does when it runs cells.
"""

from .compare import compare_results
from .runner import run_suite
from .suite import Budget, Suite, SuiteModel, list_suites, load_suite

__all__ = ["Budget", "Suite", "SuiteModel", "compare_results", "list_suites", "load_suite", "run_suite"]
