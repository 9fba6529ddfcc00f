"""``genzoo plugins``, ``genzoo install`` and ``genzoo uninstall``: the plugins in this environment."""

from __future__ import annotations

import json
import subprocess
import sys

import click
from rich.console import Console
from rich.table import Table

from genzoo.core.errors import GenzooError

from ..zoo import get_zoo


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List plugins: distribution, version, what each registers, and any errors."""
    zoo = get_zoo()
    if as_json:
        click.echo(json.dumps([vars(p) for p in zoo.plugins.values()], indent=2))
        return
    table = Table("plugin", "distribution", "version", "registers", "status", box=None, header_style="bold")
    for p in zoo.plugins.values():
        reg = "; ".join(f"{k}: {', '.join(v)}" for k, v in p.registered.items())
        status = "[green]ok[/]" if p.ok else "[red]" + " | ".join(p.errors) + "[/]"
        table.add_row(p.name, p.distribution, p.version, reg, status)
    con = Console()
    con.print(table)
    for note in zoo.catalog_notes:
        con.print(f"[yellow]catalog:[/] {note}")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    click.echo(" ".join(cmd), err=True)
    if subprocess.call(cmd) != 0:
        raise GenzooError(f"pip {args[0]} failed (see pip's output above).")


@click.command()
@click.argument("target")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade if already installed.")
@click.option("--editable", "-e", is_flag=True, help="Editable install of a local path.")
def install(target: str, upgrade: bool, editable: bool) -> None:
    """pip-install a plugin (a PyPI NAME, a local PATH or a URL) into this environment."""
    _pip("install", *(["-U"] if upgrade else []), *(["-e"] if editable else []), target)


@click.command()
@click.argument("name")
def uninstall(name: str) -> None:
    """pip-uninstall a plugin distribution from this environment."""
    if name.lower() == "genzoo":
        raise GenzooError("refusing to uninstall genzoo itself from inside genzoo; use pip.")
    _pip("uninstall", "-y", name)
