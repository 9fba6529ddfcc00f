"""One writer per run dir: a lock held while a run trains, saying who holds it.

Two `genzoo train` commands given the same --out (or a resume of a run that is still training)
would otherwise interleave their checkpoints, logs and pretrained files. The lock is an OS file
lock (``flock`` through filelock) on RUN/.genzoo-lock, which the kernel releases when its holder
dies, however it dies; beside it RUN/.genzoo-lock.json says who holds it (pid, host, command,
start time), so a refused second run can name the process to wait for or stop.

A holder that died (kill -9, out of memory, a node lost) leaves its .json behind without the lock:
the next run takes over with a warning naming it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .atomic import atomic_write_text, check_can_write
from .errors import GenzooError

LOCK = ".genzoo-lock"
HOLDER = ".genzoo-lock.json"
log = logging.getLogger("genzoo.train")


def describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} (started {holder.get('started', '?')}, "
            f"command: {holder.get('command') or '?'})")


class RunLock:
    """``with RunLock(run_dir):`` around everything a run writes; refuses with the holder named when taken."""

    def __init__(self, run_dir: str | os.PathLike, command: str = "") -> None:
        self.folder = Path(run_dir)
        program = Path(sys.argv[0]).name
        self.command = command or " ".join(["genzoo" if program == "__main__.py" else program, *sys.argv[1:]])
        self._lock: FileLock | None = None

    def _holder(self) -> dict[str, Any]:
        try:
            data = json.loads((self.folder / HOLDER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> RunLock:
        check_can_write(self.folder, f"run dir {self.folder}", folder=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.folder / LOCK), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            holder = self._holder()
            who = describe(holder) if holder else "another process (it has not said which yet)"
            raise GenzooError(f"run dir {self.folder} is in use by {who}; wait for it to finish or stop it, "
                              f"or give another --out.") from None
        self._lock = lock
        stale = self._holder()
        if stale and stale.get("pid") != os.getpid():
            log.warning("run dir %s was left locked by %s, which is no longer running; taking it over.",
                        self.folder, describe(stale))
        atomic_write_text(self.folder / HOLDER, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }) + "\n")
        return self

    def probe(self) -> None:
        """Refuse now when another process holds the lock (taking over a dead holder's, with its warning)."""
        self.acquire()
        self.release()

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            (self.folder / HOLDER).unlink()
        self._lock.release()
        self._lock = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
