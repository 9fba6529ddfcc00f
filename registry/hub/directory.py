"""A hub that is just a directory (``file:///PATH/TO/HUB/OWNER/NAME[@REVISION]``).

A team can keep one on a shared drive; nothing but the file system is needed. A repo is

    OWNER/NAME/refs/BRANCH            one line: the snapshot id the branch points at
    OWNER/NAME/snapshots/ID/          the files, plus .manifest.json (sha256 and size of each)
    OWNER/NAME/log.jsonl              one line per branch update (time, branch, id, message)

A snapshot id is a hash of its files' sha256s, so a snapshot never changes once written and
pushing identical weights twice stores them once. Publishing writes the snapshot under a
temporary name and renames it into place, then replaces the ref file, so a reader (or a
crash) sees the previous version or the new one, never half a model. Pulls copy a snapshot
into $GENZOO_CACHE/hub/dir/..., checking every file's sha256 against the manifest before
the copy is renamed into the cache.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from filelock import FileLock

from genzoo.core.atomic import atomic_write_text, new_folder
from genzoo.core.errors import GenzooError

from .location import DEFAULT_BRANCH, Location, allowed, cache_root, check_revision

MANIFEST = ".manifest.json"
LOG = "log.jsonl"
_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{40}$")


def snapshot_id(files: dict[str, dict[str, Any]]) -> str:
    """Content address of a snapshot: 40 hex digits of the sha256 of its sorted (name, sha256) list."""
    listing = "\n".join(f"{name} {files[name]['sha256']}" for name in sorted(files))
    return hashlib.sha256(listing.encode()).hexdigest()[:40]


def _copy_hashed(src: Path, dst: Path) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` and return the sha256 and size of the bytes actually copied."""
    digest, size = hashlib.sha256(), 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest(), size


def _publish_dir(tmp: Path, final: Path) -> None:
    """Rename a filled temporary folder into place; if an identical snapshot won the race, keep that one."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / MANIFEST).is_file():
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _read_ref(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return value if _SNAPSHOT_ID.match(value) else None


def _branches(repo: Path) -> dict[str, str]:
    refs = repo / "refs"
    out = {}
    for path in sorted(refs.rglob("*")) if refs.is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            sid = _read_ref(path)
            if sid:
                out[path.relative_to(refs).as_posix()] = sid
    return out


def _resolve(repo: Path, revision: str, where: str) -> str:
    """A branch name, a full snapshot id, or an unambiguous prefix (7+ digits) of one."""
    sid = _read_ref(repo / "refs" / revision)
    if sid:
        return sid
    snaps = repo / "snapshots"
    if _SNAPSHOT_ID.match(revision) and (snaps / revision / MANIFEST).is_file():
        return revision
    if re.fullmatch(r"[0-9a-f]{7,39}", revision):
        hits = [p.name for p in snaps.glob(f"{revision}*") if (p / MANIFEST).is_file()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise GenzooError(f"{where}: revision {revision!r} matches {len(hits)} snapshots; give more digits.")
    known = ", ".join(_branches(repo)) or "none"
    raise GenzooError(f"{where}: no revision {revision!r} (branches: {known}).")


# -- push -----------------------------------------------------------------------------------


def push(src: Path, files: list[str], loc: Location, *, private: bool, message: str) -> dict[str, Any]:
    branch = loc.revision or DEFAULT_BRANCH
    if _SNAPSHOT_ID.match(branch):
        raise GenzooError(f"{loc}: push to a branch name, not to a snapshot id.")
    check_revision(branch, str(loc))
    repo = Path(loc.root) / loc.owner / loc.name
    new_repo = not repo.exists()
    try:
        (repo / "snapshots").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenzooError(f"cannot create {repo} ({exc.strerror}); is the hub folder writable?") from None
    if new_repo and private:
        os.chmod(repo, 0o700)
    tmp = new_folder(repo / "snapshots", ".tmp-")
    try:
        manifest: dict[str, Any] = {"format": 1, "created": _now(), "message": message, "files": {}}
        for name in files:
            digest, size = _copy_hashed(src / name, tmp / name)
            manifest["files"][name] = {"sha256": digest, "size": size}
        sid = snapshot_id(manifest["files"])
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _publish_dir(tmp, repo / "snapshots" / sid)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    with FileLock(str(repo / ".lock")):
        previous = _read_ref(repo / "refs" / branch)
        atomic_write_text(repo / "refs" / branch, sid + "\n")
        entry = {"time": _now(), "ref": branch, "snapshot": sid, "previous": previous, "message": message,
                 "user": _user()}
        with open(repo / LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
    return {"location": str(loc), "revision": branch, "commit": sid, "files": files}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


# -- pull -----------------------------------------------------------------------------------


def _cache_dir(loc: Location) -> Path:
    root = str(Path(loc.root).resolve())
    key = f"{Path(root).name or 'root'}-{hashlib.sha256(root.encode()).hexdigest()[:12]}"
    return cache_root() / "dir" / key / loc.owner / loc.name


def _from_cache(loc: Location, revision: str) -> Path | None:
    cache = _cache_dir(loc)
    sid = _read_ref(cache / "refs" / revision) or (revision if _SNAPSHOT_ID.match(revision) else None)
    if sid is None and re.fullmatch(r"[0-9a-f]{7,39}", revision):
        hits = [p.name for p in (cache / "snapshots").glob(f"{revision}*") if (p / MANIFEST).is_file()]
        sid = hits[0] if len(hits) == 1 else None
    snap = cache / "snapshots" / sid if sid else None
    return snap if snap is not None and (snap / MANIFEST).is_file() else None


def _fetch(hub_snap: Path, dest: Path, where: str) -> None:
    """Copy a hub snapshot into the cache, verifying each file against the manifest first."""
    try:
        manifest = json.loads((hub_snap / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise GenzooError(f"{where}: snapshot {hub_snap.name} has no readable {MANIFEST}.") from None
    if snapshot_id(files) != hub_snap.name:
        raise GenzooError(f"{where}: snapshot {hub_snap.name}'s manifest does not match its id; the hub copy was "
                          f"altered after publishing. Nothing was cached.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_folder(dest.parent, ".tmp-")
    try:
        kept = {}
        for name, meta in files.items():
            if not allowed(name):
                continue  # pickles and anything else we never load stay on the hub
            try:
                digest, size = _copy_hashed(hub_snap / name, tmp / name)
            except FileNotFoundError:
                raise GenzooError(f"{where}: {name} of snapshot {hub_snap.name} is missing on the hub.") from None
            if digest != meta.get("sha256") or size != meta.get("size"):
                raise GenzooError(f"{where}: {name} failed verification (sha256 {digest[:12]}..., size {size}; the "
                                  f"manifest says {str(meta.get('sha256'))[:12]}..., size {meta.get('size')}). The hub "
                                  f"copy is corrupt or was changed after publishing; nothing was cached.")
            kept[name] = meta
        (tmp / MANIFEST).write_text(json.dumps({**manifest, "files": kept}, indent=2) + "\n", encoding="utf-8")
        _publish_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pull(loc: Location, *, offline: bool) -> Path:
    revision = loc.revision or DEFAULT_BRANCH
    repo = Path(loc.root) / loc.owner / loc.name
    cache = _cache_dir(loc)
    if offline:
        found = _from_cache(loc, revision)
        if found is None:
            raise GenzooError(f"{loc} (revision {revision!r}) is not in the cache {cache} and genzoo is offline; "
                              f"pull it once with the hub reachable (unset GENZOO_OFFLINE/HF_HUB_OFFLINE).")
        return found
    if not Path(loc.root).is_dir():
        found = _from_cache(loc, revision)
        if found is not None:
            return found  # the shared drive is not mounted: behave like a hub that cannot be reached
        raise GenzooError(f"{loc}: the hub folder {loc.root} does not exist (is the drive mounted?) and the "
                          f"model is not cached.")
    if not (repo / "refs").is_dir():
        raise GenzooError(f"{loc}: no repo {loc.repo_id} in hub {loc.root}; `genzoo hub ls file://{loc.root}` "
                          f"lists what it holds.")
    sid = _resolve(repo, revision, str(loc))
    dest = cache / "snapshots" / sid
    if not (dest / MANIFEST).is_file():
        _fetch(repo / "snapshots" / sid, dest, str(loc))
    if revision != sid:
        atomic_write_text(cache / "refs" / revision, sid + "\n")
    return dest


# -- listing --------------------------------------------------------------------------------


def _describe(repo: Path, owner: str, name: str) -> dict[str, Any]:
    latest: dict[str, dict[str, Any]] = {}
    try:
        for line in (repo / LOG).read_text(encoding="utf-8").splitlines():
            with_entry = json.loads(line)
            latest[with_entry["ref"]] = with_entry
    except (OSError, ValueError, KeyError):
        pass
    revisions = []
    for branch, sid in _branches(repo).items():
        entry = latest.get(branch, {})
        when = entry.get("time") if entry.get("snapshot") == sid else None
        if when is None:
            when = dt.datetime.fromtimestamp((repo / "refs" / branch).stat().st_mtime, dt.timezone.utc).isoformat(
                timespec="seconds")
        revisions.append({"revision": branch, "commit": sid, "date": when,
                          "message": entry.get("message", "") if entry.get("snapshot") == sid else ""})
    snapshots = sum(1 for p in (repo / "snapshots").iterdir() if (p / MANIFEST).is_file())
    return {"repo": f"{owner}/{name}", "location": f"file://{repo}", "revisions": revisions, "snapshots": snapshots}


def list_repos(path: Path) -> list[dict[str, Any]]:
    if not path.is_dir():
        raise GenzooError(f"hub folder {path} does not exist.")
    if (path / "refs").is_dir():
        return [_describe(path, path.parent.name, path.name)]
    if any((p / "refs").is_dir() for p in path.iterdir() if p.is_dir()):
        owners = [path]
    else:
        owners = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [_describe(repo, owner.name, repo.name) for owner in owners
            for repo in sorted(owner.iterdir()) if (repo / "refs").is_dir()]
