"""What `genzoo bench` and `genzoo tune` share: a group whose plain first argument means its ``run``.

`genzoo bench SUITE` and `genzoo tune NAME` are the common case, so they need no subcommand word,
while `bench list`, `bench compare` and `tune show` stay reachable by name (which is why a suite or
model cannot be called "run", "list", "compare" or "show"). Both print tables that logs and CI would
otherwise squeeze into 80 columns.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console


class RunByDefault(click.Group):
    """A click group that reads ``GROUP X ...`` as ``GROUP run X ...`` when X names no subcommand."""

    usage = ""  # the usage line after the command path, e.g. "SUITE [OPTIONS] | run SUITE [OPTIONS] | list"

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[Any, ...]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, self.usage)


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 200 columns when the output is a log or a pipe."""
    con = Console()
    if not con.is_terminal:
        con = Console(width=max(con.width, 200))
    return con
