"""Hub locations: push a pretrained folder somewhere others can pull it from.

Two kinds of location behave the same way:

- ``hf://owner/name[@revision]``: a Hugging Face Hub model repo, through huggingface_hub
  (token from HF_TOKEN or ``hf auth login``; cache in huggingface_hub's own cache);
- ``file:///path/to/hub/owner/name[@revision]``: a plain directory hub a team can keep
  on a shared drive (see genzoo.hub.directory), cached under $GENZOO_CACHE/hub.

Only weights and their description travel: ``*.safetensors``, ``*.json``, ``*.md`` and
``*.png``. A pickle in a repo (``*.bin``, ``*.pt``, ``*.pkl``) is never downloaded, so it can
never be loaded. Every download is checked against the sha256 the hub publishes before it
is used, and offline (``GENZOO_OFFLINE=1``, ``HF_HUB_OFFLINE=1`` or ``--offline``) a pull is
answered from the cache alone, honouring a pinned revision.

A location names a folder on disk (file://) or a cache path (hf://), so one that could escape is
refused before anything is read: ``..`` or ``.`` in a path, an hf:// location written with a
leading "/", a revision that is not a plain branch name or commit id (a leading "-" or ".", a
".lock" part, over 255 characters), and, in what a hub lists, a file name that is absolute or
climbs out of the snapshot with ``..`` (such a file is never fetched).

This module imports neither torch nor huggingface_hub, so the CLI's help stays fast.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from genzoo.core.errors import GenzooError
from genzoo.core.rundir import pretrained_folder, read_config

# What a pull fetches and a push sends; everything else in a repo is ignored.
ALLOWED_PATTERNS = ("*.safetensors", "*.json", "*.md", "*.png")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
SCHEMES = ("hf://", "file://")
DEFAULT_BRANCH = "main"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
MAX_REVISION = 255


@dataclass(frozen=True)
class Location:
    """A parsed hub location. ``root`` is the hub directory for file://, "" for hf://."""

    scheme: str  # "hf" or "file"
    owner: str
    name: str
    revision: str | None = None
    root: str = ""

    @property
    def repo_id(self) -> str:
        return f"{self.owner}/{self.name}"

    def __str__(self) -> str:
        base = f"hf://{self.repo_id}" if self.scheme == "hf" else f"file://{Path(self.root) / self.repo_id}"
        return base + (f"@{self.revision}" if self.revision else "")


def is_location(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(SCHEMES)


def _split_revision(body: str) -> tuple[str, str | None]:
    """``a/b@rev`` -> (a/b, rev); an @ inside a folder name (before the last /) is not a revision."""
    head, slash, tail = body.rpartition("/")
    if "@" in tail:
        tail, _, rev = tail.partition("@")
        if not rev:
            raise GenzooError(f"hub location {body!r} ends with '@' but names no revision.")
        return head + slash + tail, rev
    return body, None


def check_revision(revision: str, where: str) -> str:
    if (not _REVISION.match(revision) or ".." in revision or len(revision) > MAX_REVISION
            or any(part.endswith(".lock") for part in revision.split("/"))):
        raise GenzooError(f"{where}: revision {revision!r} is not a valid branch name or commit id "
                          f"(letters, digits, . _ - and / between parts, each starting with a letter or digit).")
    return revision


def parse_location(text: str, revision: str | None = None) -> Location:
    """Parse ``hf://owner/name[@rev]`` or ``file:///hub/owner/name[@rev]``; ``revision`` (from
    --revision) must agree with an @rev in the text."""
    if not is_location(text):
        raise GenzooError(f"{text!r} is not a hub location; use hf://OWNER/NAME[@REVISION] or "
                          f"file:///PATH/TO/HUB/OWNER/NAME[@REVISION].")
    scheme = "hf" if text.startswith("hf://") else "file"
    if scheme == "hf":
        if text[len("hf://"):].startswith("/"):
            raise GenzooError(f"{text!r}: an hf:// location is hf://OWNER/NAME, not a path (file:///PATH is a folder).")
        body, rev = _split_revision(text[len("hf://"):].strip("/"))
        parts = body.split("/")
        root = ""
    else:
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise GenzooError(f"{text!r}: a file:// location needs an absolute path (file:///PATH), "
                              f"not host {parsed.netloc!r}.")
        body, rev = _split_revision(unquote(parsed.path).rstrip("/"))
        path = Path(body)
        if any(part in (".", "..") for part in body.split("/")):
            raise GenzooError(f"{text!r}: a file:// location may not contain '.' or '..'; give the hub's real path.")
        if not path.is_absolute():
            raise GenzooError(f"{text!r}: a file:// location needs an absolute path (file:///PATH/OWNER/NAME).")
        parts = [*path.parts[-2:]] if len(path.parts) >= 3 else []
        root = str(path.parent.parent)
    if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
        form = "hf://OWNER/NAME" if scheme == "hf" else "file:///PATH/TO/HUB/OWNER/NAME"
        raise GenzooError(f"{text!r} does not name a repo: expected {form}[@REVISION] "
                          f"(owner and name: letters, digits, . _ -).")
    if revision and rev and revision != rev:
        raise GenzooError(f"{text!r} pins revision {rev!r} but --revision says {revision!r}; give one.")
    rev = revision or rev
    if rev is not None:
        check_revision(rev, text)
    return Location(scheme, parts[0], parts[1], rev, root)


def offline_mode(offline: bool | None = None) -> bool:
    """``offline`` when given, else GENZOO_OFFLINE or HF_HUB_OFFLINE."""
    if offline is not None:
        return offline
    flags = (os.environ.get(v, "").lower() for v in ("GENZOO_OFFLINE", "HF_HUB_OFFLINE"))
    return any(flag in ("1", "true", "yes", "on") for flag in flags)


def cache_root() -> Path:
    """$GENZOO_CACHE/hub, else ~/.cache/genzoo/hub (file:// hubs; hf:// uses huggingface_hub's cache)."""
    base = os.environ.get("GENZOO_CACHE")
    if base:
        return Path(base).expanduser() / "hub"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "genzoo" / "hub"


def safe_name(path: str) -> bool:
    """Whether a file name a hub lists stays inside the snapshot: relative, no '..', no backslash or NUL."""
    return (bool(path) and not path.startswith("/") and "\\" not in path and "\0" not in path
            and all(part not in ("", ".", "..") for part in path.split("/")))


def allowed(path: str) -> bool:
    """Whether a hub file is fetched: a safe name of an allowed kind (never a pickle)."""
    name = path.rsplit("/", 1)[-1]
    return (safe_name(path) and not name.lower().endswith(PICKLE_SUFFIXES)
            and any(fnmatch.fnmatch(name, p) for p in ALLOWED_PATTERNS))


def git_blob_sha1(path: Path) -> str:
    """The id git (and the Hub) gives a non-LFS file: sha1 of "blob SIZE\\0" + content."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pretrained_files(folder: str | os.PathLike) -> tuple[Path, list[str], dict[str, Any]]:
    """The pretrained folder to push (a run dir's pretrained/), the files that travel and its config.json."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise GenzooError(f"{folder} is not a folder; push a run dir or a pretrained folder.")
    folder = pretrained_folder(folder)
    info = read_config(folder)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and allowed(p.name))
    if not any(f.endswith(".safetensors") for f in files):
        raise GenzooError(f"{folder} holds no *.safetensors weights; nothing to push.")
    return folder, files, info
