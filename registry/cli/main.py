"""The ``genzoo`` command line: a thin face over the Python API.

Every command turns a GenzooError into one line on stderr and a non-zero exit, never a
traceback. Listing commands import no torch; commands that need it import it inside.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from genzoo.core.errors import GenzooError

from ..zoo import get_zoo
from . import (
    cmd_bench,
    cmd_data,
    cmd_demo,
    cmd_denoise,
    cmd_eval,
    cmd_evaluator,
    cmd_hub,
    cmd_import,
    cmd_models,
    cmd_plugins,
    cmd_pull,
    cmd_push,
    cmd_sample,
    cmd_score,
    cmd_train,
    cmd_translate,
    cmd_tune,
)


class ZooGroup(click.Group):
    """Adds plugin commands on first use and reports GenzooErrors as one clean line."""

    def _plugin_commands(self) -> None:
        if getattr(self, "_loaded", False):
            return
        self._loaded = True
        try:
            zoo = get_zoo()  # runs before invoke() for --help and unknown names, so its errors are turned here
        except GenzooError as exc:
            raise click.ClickException(str(exc)) from None
        if zoo.manager is not None:
            zoo.manager.call("register_commands", lambda info: self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None:
            self._plugin_commands()
            cmd = super().get_command(ctx, name)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GenzooError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; the last checkpoint is kept (resume with --resume RUN_DIR).", err=True)
            sys.exit(130)


def _warn_broken(ctx: click.Context) -> None:
    if ctx.invoked_subcommand != "plugins":
        get_zoo().manager.warn_failures()


# Help text uses up to 120 columns of a wide terminal (click's default stops at 80), so the command list shows
# each command's one-line summary whole where it fits.
@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name="genzoo")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """genzoo: train, sample, evaluate and benchmark generative image models."""
    if ctx.invoked_subcommand and ctx.invoked_subcommand not in ("install", "uninstall"):
        _warn_broken(ctx)


COMMANDS = (
    cmd_models.list_cmd, cmd_models.info, cmd_train.train, cmd_sample.sample, cmd_eval.command,
    cmd_score.command, cmd_denoise.command, cmd_translate.command, cmd_evaluator.command, cmd_push.command,
    cmd_pull.command, cmd_hub.command, cmd_import.command, cmd_bench.command, cmd_tune.command, cmd_data.data,
    cmd_demo.demo,
    cmd_plugins.plugins, cmd_plugins.install, cmd_plugins.uninstall,
)
"""Every built-in command, added explicitly (a plugin adds its own through ``register_commands``)."""

for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="genzoo")


if __name__ == "__main__":
    main()
