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

# mkstemp and mkdtemp create files 0600 and folders 0700, private as temporary files should be; the ones
# here are renamed into place and kept, so they get what open() and mkdir() would have given them under
# the process's umask (read once: os.umask can only be read by setting it). Otherwise a teammate could not
# read a shared directory hub, a run folder or a cache that another user wrote.
_UMASK = os.umask(0o077)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK

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


def check_can_write(target: str | os.PathLike, what: str, *, folder: bool = False) -> None:
    """Fail before the long work, not after it, where ``target`` (a file, or with ``folder`` a folder, still
    to be written) cannot be: a folder stands where the file must go, a file where one of its folders must,
    or no file can be created in the nearest folder that exists. The GenzooError says ``cannot write
    {what}`` and why.

    Nothing is left behind (a command that fails later must not leave empty folders), and writing is
    proven by creating a file there and removing it: ``os.access`` says yes to root even where every
    write fails (a read-only mount, /proc), and commands here often run as root in containers.
    """
    path = Path(target).expanduser().absolute()
    if not folder and path.is_dir():
        raise GenzooError(f"cannot write {what}: {path} is a folder; give a file name.")
    start = path if folder else path.parent
    existing = next(p for p in (start, *start.parents) if p.exists())
    if not existing.is_dir():
        raise GenzooError(f"cannot write {what}: {existing} is a file, not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".genzoo-", suffix=".probe", dir=existing)
    except OSError as exc:
        raise GenzooError(f"cannot write {what}: {existing} is not writable ({exc.strerror}).") from None
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` at once."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, FILE_MODE)
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


def new_folder(parent: Path, prefix: str) -> Path:
    """A new, uniquely named folder in ``parent`` that is filled, then renamed into place and kept:
    mkdtemp's, with the permissions mkdir would give it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    os.chmod(folder, DIR_MODE)
    return folder


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it takes ``target``'s place.

    An existing ``target`` is moved aside first and removed only once the new folder is in
    place, so at every moment one complete version exists on disk.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_folder(target.parent, f".{target.name}.")
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
