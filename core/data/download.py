"""Fetching public data files: streamed, md5-checked, written atomically.

A download that is cut off or corrupted must never leave a file that a later run takes
for the real thing, so bytes go to a temporary file beside the target and are renamed
into place only once the checksum matches. A file lock keeps two runs from fetching the
same file at once. Tests never call this: they read local copies.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from filelock import FileLock

from genzoo.core.atomic import FILE_MODE
from genzoo.core.errors import DataError

CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(url: str, dest: Path, md5: str, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` unless a file with the right md5 is already there."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.is_file() and md5_of(dest) == md5:
            return dest
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.fchmod(fd, FILE_MODE)
        tmp = Path(tmp_name)
        try:
            h = hashlib.md5()
            done = 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = int(resp.headers.get("Content-Length") or 0)
                print(f"downloading {url} -> {dest}", file=sys.stderr)
                for chunk in iter(lambda: resp.read(CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if total:
                        print(f"\r  {done / 1e6:.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
            if total:
                print(file=sys.stderr)
            if h.hexdigest() != md5:
                raise DataError(
                    f"download of {url} has md5 {h.hexdigest()}, expected {md5}; the mirror may be "
                    "serving a different file. Nothing was written; try again or fetch it by hand."
                )
            os.replace(tmp, dest)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DataError(
                f"could not download {url} ({exc}). Without network, copy the file to {dest} "
                "by hand, or use the offline 'digits' data set."
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return dest
