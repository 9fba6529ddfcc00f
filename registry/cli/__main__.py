"""``python -m genzoo.cli``: the same as the ``genzoo`` command."""

from .main import main

main()
