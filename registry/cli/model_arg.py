"""The model a command's NAME argument names: a run dir, a pretrained folder, a hub location or a
registered name, the last of which is untrained and said to be so."""

from __future__ import annotations

from typing import Any

import click


def open_model(name: str, variant: str, *, outputs: str) -> Any:
    """``genzoo.create_model(name)`` with a note on stderr when nothing trained was named;
    ``outputs`` says what that makes of the command's results ("samples are noise")."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from genzoo.core.device import flush_denormals

    from ..models.build import create_model

    model = create_model(name, variant=variant)
    flush_denormals()
    if not model.meta.source:  # built from a registered name: fresh weights
        click.echo(f"note: {name} is untrained (no run dir, pretrained folder or hub location given); {outputs}.",
                   err=True)
    return model
