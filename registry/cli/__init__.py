"""The ``genzoo`` command line: the click group in ``main``, one ``cmd_*`` module per command or group."""

from .main import cli, main

__all__ = ["cli", "main"]
