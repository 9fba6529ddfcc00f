"""``genzoo data check``: what is wrong with an image folder, before a run finds out."""

from __future__ import annotations

import json
from pathlib import Path

import click

from genzoo.core.errors import GenzooError


@click.group()
def data() -> None:
    """Inspect data sources."""


@data.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def data_check(path: Path, as_json: bool) -> None:
    """Scan an image folder for corrupt, truncated, empty, non-image, odd-mode and duplicate files."""
    if not path.is_dir():
        raise GenzooError(f"{path} is not a folder; `genzoo data check` scans an image folder.")
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from genzoo.core.data.clean import scan_folder

    report = scan_folder(path)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.format())
