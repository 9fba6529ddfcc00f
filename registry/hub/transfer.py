"""push, pull and list: one front for both kinds of hub, dispatching on the location's scheme."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from genzoo.core.errors import GenzooError
from genzoo.core.model_card import CARD, SAMPLES, retarget_card

from .location import is_location, offline_mode, parse_location, pretrained_files


def _backend(scheme: str) -> Any:
    if scheme == "hf":
        # Deferred: huggingface_hub takes a while to import; only hf:// locations need it.
        from . import huggingface

        return huggingface
    from . import directory  # deferred like the hf backend, so neither loads the other's dependencies

    return directory


def push(folder: str | os.PathLike, location: str, *, revision: str | None = None, private: bool = False,
         message: str | None = None) -> dict[str, Any]:
    """Publish a run dir's or a pretrained folder's weights; returns {location, revision, commit, files}.

    The README.md that travels is the model card rendered for the destination (its usage snippet
    loads ``location``), staged beside links to the other files; the local folder is left as it is.
    """
    loc = parse_location(location, revision)
    src, files, info = pretrained_files(folder)
    msg = message or f"Upload {info['name']} with genzoo"
    with tempfile.TemporaryDirectory(prefix="genzoo-push-") as tmp:
        staged, files = _stage(src, files, info, Path(tmp), str(loc))
        return _backend(loc.scheme).push(staged, files, loc, private=private, message=msg)


def _stage(src: Path, files: list[str], info: dict[str, Any], tmp: Path, location: str) -> tuple[Path, list[str]]:
    """``src``'s files in ``tmp`` (linked, or copied where links are refused) with the card's usage
    snippet rendered for ``location``; the backends read and hash the staged bytes as they would
    the folder's own, and the folder itself is not touched."""
    staged = tmp / "upload"
    staged.mkdir()
    for name in files:
        if name == CARD:
            continue
        target = (src / name).resolve()
        try:
            os.symlink(target, staged / name)
        except OSError:
            shutil.copy2(target, staged / name)
    local = src / CARD
    card = retarget_card(local.read_text(encoding="utf-8") if CARD in files else None, info,
                         has_samples=SAMPLES in files, location=location)
    (staged / CARD).write_text(card, encoding="utf-8")
    return staged, sorted({*files, CARD})


def pull(location: str, *, revision: str | None = None, offline: bool | None = None) -> Path:
    """Download (or find in the cache) a location's pretrained folder and return its local path."""
    loc = parse_location(location, revision)
    return _backend(loc.scheme).pull(loc, offline=offline_mode(offline))


def list_repos(prefix: str) -> list[dict[str, Any]]:
    """Repos and their revisions under a prefix: file:///hub[/owner[/name]] or hf://owner[/name]."""
    if not is_location(prefix):
        raise GenzooError(f"{prefix!r} is not a hub prefix; use hf://OWNER[/NAME] or file:///PATH/TO/HUB[/OWNER[/NAME]].")
    if prefix.startswith("hf://"):
        return _backend("hf").list_repos(prefix[len("hf://"):].strip("/"))
    path = Path(unquote(urlparse(prefix).path))
    if not path.is_absolute():
        raise GenzooError(f"{prefix!r}: a file:// prefix needs an absolute path (file:///PATH).")
    return _backend("file").list_repos(path)
