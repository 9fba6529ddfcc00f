"""``genzoo pull LOCATION``: download pretrained weights into the local cache."""

from __future__ import annotations

import click

from ..hub import pull


@click.command("pull")
@click.argument("location")
@click.option("--revision", default=None, help="Branch or commit to pull (default: the location's @REV, else main).")
@click.option("--offline", is_flag=True, default=None, help="Use only the local cache (like GENZOO_OFFLINE=1).")
def command(location: str, revision: str | None, offline: bool | None) -> None:
    """Download weights from a hub and print their local folder.

    LOCATION is hf://OWNER/NAME[@REV] or file:///HUB/OWNER/NAME[@REV]. The printed folder
    loads with genzoo.create_model(PATH) or `genzoo sample PATH`.
    """
    click.echo(str(pull(location, revision=revision, offline=offline or None)))
