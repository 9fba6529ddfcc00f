"""``genzoo list`` and ``genzoo info``: what the zoo holds, without importing torch."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from genzoo.core.errors import GenzooError

from ..models.info import model_info
from ..zoo import get_zoo

COLUMNS = ("name", "family", "capabilities", "plugin", "description")
DROPPABLE = ("plugin", "family")
"""A terminal too narrow for every column loses these first (`genzoo info NAME` shows them)."""
MIN_DESCRIPTION = 24
MIN_CAPABILITIES = 12
GAP = 2


def model_rows(names: list[str]) -> list[tuple[str, ...]]:
    """One row of COLUMNS per model; each value on one line."""
    models = get_zoo().models
    return [(n, models[n].family, ",".join(models[n].capabilities), models[n].plugin,
             " ".join(models[n].description.split())) for n in names]


def plain_lines(rows: list[tuple[str, ...]]) -> list[str]:
    """A header and one line per model, columns aligned, nothing wrapped or cut: for pipes and files."""
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    return ["  ".join([*(value.ljust(w) for value, w in zip(row, widths)), row[-1]]).rstrip()
            for row in [COLUMNS, *rows]]


def terminal_table(rows: list[tuple[str, ...]], width: int) -> Table:
    """The rich table for a terminal ``width`` columns wide: one screen line per model, never wrapped.

    Names are never cut; the description is cut with an ellipsis to what the width leaves; a narrow
    terminal drops the plugin, then the family column, and at last cuts capabilities too."""
    widths = {c: max(len(row[i]) for row in [COLUMNS, *rows]) for i, c in enumerate(COLUMNS)}
    keep = list(COLUMNS)

    def left(columns: list[str]) -> int:  # what the description gets
        return width - sum(widths[c] for c in columns if c != "description") - GAP * (len(columns) - 1)

    for column in DROPPABLE:
        if left(keep) >= MIN_DESCRIPTION:
            break
        keep.remove(column)
    if left(keep) < MIN_DESCRIPTION:
        widths["capabilities"] = max(MIN_CAPABILITIES, widths["capabilities"] - (MIN_DESCRIPTION - left(keep)))
    widths["description"] = max(1, min(widths["description"], left(keep)))
    table = Table(box=None, header_style="bold", padding=(0, GAP // 2), pad_edge=False)
    for column in keep:
        table.add_column(column, width=widths[column], no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(value) for column, value in zip(COLUMNS, row) if column in keep))
    return table


@click.command("list")
@click.argument("pattern", default="*")
@click.option("--family", default="", help="Only this family.")
@click.option("--plugin", default="", help="Only models from this plugin.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(pattern: str, family: str, plugin: str, as_json: bool) -> None:
    """List the zoo's models, or those whose name matches PATTERN (fnmatch: 'dcgan*').

    In a terminal: a table, one line per model, descriptions cut to the terminal's width. Piped or
    redirected: one plain line per model, columns aligned and nothing cut (`genzoo list | grep gan`).
    """
    zoo = get_zoo()
    names = zoo.list_models(pattern, family=family, plugin=plugin)
    if as_json:
        click.echo(json.dumps([{"name": n, "family": zoo.models[n].family, "plugin": zoo.models[n].plugin,
                                "capabilities": list(zoo.models[n].capabilities)} for n in names], indent=2))
        return
    if not names:
        raise GenzooError(f"no model matches {pattern!r}; `genzoo list` shows all {len(zoo.models)}.")
    rows = model_rows(names)
    if sys.stdout.isatty():
        console = Console()
        console.print(terminal_table(rows, console.width))
    else:
        click.echo("\n".join(plain_lines(rows)))


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(name: str, as_json: bool) -> None:
    """Show a model's family, plugin, capabilities, config, preprocessing, recipe and sampling options."""
    data = model_info(name)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    con = Console()
    con.print(f"[bold]{data['name']}[/]  family [cyan]{data['family']}[/]  plugin [cyan]{data['plugin']}[/]"
              + (f" ({data['distribution']})" if data["distribution"] else "") + f"  from {data['source']}")
    if data["description"]:
        con.print(data["description"])
    con.print(f"capabilities: {', '.join(data['capabilities'])}   default data: {data['data']}"
              + (f"   hub: {data['hub']}" if data["hub"] else ""))
    # "sampling": options `genzoo sample --set` and model.sample(**options) take; shown when the family has any.
    for section in ("config", "preprocessing", "train", "sampling"):
        if not data.get(section):
            continue
        table = Table("field", "type", "default", "value", "help", title=section, box=None,
                      header_style="bold", title_justify="left")
        for f in data[section]:
            changed = f["value"] != f["default"]
            value = f"[yellow]{f['value']}[/]" if changed else str(f["value"])
            table.add_row(f["name"], f["type"], str(f["default"]), value, f["help"])
        con.print(table)
