"""``genzoo push RUN_DIR|PRETRAINED_DIR LOCATION``: publish weights to a hub."""

from __future__ import annotations

import click

from ..hub import push


@click.command("push")
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("location")
@click.option("--revision", default=None, help="Branch to push to (default main; created if missing).")
@click.option("--private", is_flag=True, help="Create the repo private (hf://) or readable only by you (file://).")
@click.option("--message", "-m", default=None, help="Commit message.")
def command(folder: str, location: str, revision: str | None, private: bool, message: str | None) -> None:
    """Push weights (a run dir or a pretrained folder) to a hub.

    A run dir pushes its pretrained/ folder. LOCATION is hf://OWNER/NAME[@BRANCH] or
    file:///PATH/TO/HUB/OWNER/NAME[@BRANCH]. Only *.safetensors, *.json, *.md and *.png files
    are sent; the revision then holds exactly those files.
    """
    result = push(folder, location, revision=revision, private=private, message=message)
    click.echo(f"pushed {len(result['files'])} files ({', '.join(result['files'])}) to {result['location']} "
               f"revision {result['revision']} (commit {result['commit']})")
