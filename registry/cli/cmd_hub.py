"""``genzoo hub ls PREFIX``: what a hub holds."""

from __future__ import annotations

import json

import click

from genzoo.core.errors import GenzooError

from ..hub import list_repos


@click.group("hub")
def command() -> None:
    """List what hubs hold (hf://OWNER[/NAME], file:///HUB[/OWNER[/NAME]])."""


@command.command("ls")
@click.argument("prefix")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls(prefix: str, as_json: bool) -> None:
    """List the repos under PREFIX and each repo's revisions (branch, commit, date, message)."""
    repos = list_repos(prefix)
    if as_json:
        click.echo(json.dumps(repos, indent=2))
        return
    if not repos:
        raise GenzooError(f"no repos under {prefix}.")
    for repo in repos:
        click.echo(repo["location"])
        for rev in repo["revisions"]:
            extra = "  ".join(x for x in (rev.get("date", ""), rev.get("message", "")) if x)
            click.echo(f"  @{rev['revision']:<16} {rev['commit']}  {extra}".rstrip())
