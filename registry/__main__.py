"""``python -m genzoo``: the same as the ``genzoo`` command."""

from .cli import main

main()
