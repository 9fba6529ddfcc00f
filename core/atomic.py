"""Writing files and folders so that a crash never leaves one half-written.

Everything a user keeps (checkpoints, pretrained folders, caches, reports) goes through
these helpers: write next to the target, flush, then ``os.replace``, which is atomic on
POSIX and Windows within one file system.

A disk that fills up (or a quota, or a file-size limit) while a file is written ends in one
DiskFull error naming the file, with the partial file removed and the previous version in
place: never a raw traceback from whichever library was writing (safetensors reports ENOSPC as
a SafetensorError whose message is the OS's).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import GenzooError

_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
         errno.EFBIG: "file too large for the file system or this process's file-size limit"}
_FULL_TEXT = {f"os error {code}": why for code, why in _FULL.items()}


class DiskFull(GenzooError):
    """A write failed for lack of space (ENOSPC, EDQUOT) or a size limit (EFBIG)."""

    def __init__(self, target: str | os.PathLike, reason: str) -> None:
        super().__init__(f"cannot write {target}: {reason}. Nothing was replaced: the previous version (if any) "
                         f"is intact and the partial file was removed; free space on that disk and run again.")
        self.target, self.reason = target, reason

    def __reduce__(self) -> tuple:
        return type(self), (self.target, self.reason)


def disk_full_reason(exc: BaseException) -> str:
    """"no space left on device" (or the quota / size-limit reason) when ``exc`` is one, else ""."""
    if isinstance(exc, DiskFull):
        return exc.reason
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return _FULL[exc.errno]
    text = str(exc)
    return next((why for code, why in _FULL_TEXT.items() if code in text), "")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` at once."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as f:  # durable before it becomes visible under the real name
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    except Exception as exc:
        if isinstance(exc, DiskFull) or not (reason := disk_full_reason(exc)):
            raise
        raise DiskFull(target, reason) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's content, read in 1 MiB chunks (cache keys, hub manifests)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it takes ``target``'s place.

    An existing ``target`` is moved aside first and removed only once the new folder is in
    place, so at every moment one complete version exists on disk.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except Exception as exc:
        if not (reason := disk_full_reason(exc)):
            raise
        # a file inside the temporary folder ran out of space: name the folder the user asked for
        raise DiskFull(target, reason) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
