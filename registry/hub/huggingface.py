"""``hf://owner/name[@revision]``: the Hugging Face Hub through huggingface_hub's public API.

huggingface_hub does the transfers, the cache (HF_HOME / HF_HUB_CACHE), resumed downloads
and the token (HF_TOKEN or ``hf auth login``). genzoo adds what it needs on top: only
weight/description files are requested (allow_patterns), every file is checked against the
sha256 (LFS files) or git blob id (small files) that the Hub publishes for the commit before
it is loaded, online and offline, a file that fails is removed from the cache, and the
library's exceptions become one-line GenzooErrors.

What the Hub published is asked once per commit (``HfApi.list_repo_tree``) and recorded beside
the snapshot, in ``models--OWNER--NAME/genzoo/COMMIT.json`` (written atomically), so an offline
pull verifies against it with no request and a cached file altered later is caught too. A
commit never changes, so neither does its record. This module is imported only when an hf://
location is used (genzoo.hub.transfer defers it), so huggingface_hub loads only then.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, RepoFile, constants, errors, snapshot_download

from genzoo.core.atomic import atomic_write_text, sha256_file
from genzoo.core.errors import GenzooError
from genzoo.core.rundir import PRETRAINED_CONFIG

from .location import ALLOWED_PATTERNS, DEFAULT_BRANCH, Location, allowed, git_blob_sha1

RECORDS = "genzoo"
"""Folder of per-commit records inside huggingface_hub's repo folder (beside blobs/, refs/, snapshots/)."""
RECORD_FORMAT = 1
KINDS = ("sha256", "git blob id")

Expected = dict[str, tuple[str, str, int]]
"""File path in the repo -> (kind, digest, size): what the Hub published for it."""


@contextlib.contextmanager
def _errors(loc: Location | str, action: str) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one line that says what to do."""
    endpoint = constants.ENDPOINT
    try:
        yield
    except GenzooError:
        raise
    except errors.RevisionNotFoundError:
        rev = loc.revision if isinstance(loc, Location) else ""
        raise GenzooError(f"{loc}: the repo has no revision {rev!r}; `genzoo hub ls {_base(loc)}` lists its "
                          f"branches.") from None
    except errors.RepositoryNotFoundError:
        raise GenzooError(f"{loc}: no such repo on {endpoint}, or it is private and no valid token was given "
                          f"(set HF_TOKEN or run `hf auth login`).") from None
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled):  # an incomplete snapshot is one too
        raise GenzooError(f"{loc} is not in the local cache ({constants.HF_HUB_CACHE}) and {action} cannot reach "
                          f"the Hub (offline mode or no connection); pull it once online.") from None
    except errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        hint = " (set HF_TOKEN or run `hf auth login`)" if status in (401, 403) else ""
        raise GenzooError(f"{loc}: {action} failed with HTTP {status} from {endpoint}{hint}.") from None
    except (KeyError, ValueError) as exc:  # a reply huggingface_hub could not parse, or an argument it refused
        raise GenzooError(f"{loc}: {action} failed: {type(exc).__name__}: {exc} (is {endpoint} a Hub?)") from None
    except OSError as exc:  # includes httpx's transport errors wrapped by huggingface_hub, and disk errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GenzooError(f"{loc}: {action} failed: {first}") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise GenzooError(f"{loc}: cannot reach {endpoint} ({type(exc).__name__}: {exc}).") from None
        raise


def _base(loc: Location | str) -> str:
    return f"hf://{loc.repo_id}" if isinstance(loc, Location) else str(loc)


def push(src: Path, files: list[str], loc: Location, *, private: bool, message: str) -> dict[str, Any]:
    api = HfApi()
    branch = loc.revision or DEFAULT_BRANCH
    with _errors(loc, "push"):
        api.create_repo(loc.repo_id, repo_type="model", private=private, exist_ok=True)
        if branch != DEFAULT_BRANCH:
            api.create_branch(loc.repo_id, branch=branch, repo_type="model", exist_ok=True)
        info = api.upload_folder(repo_id=loc.repo_id, repo_type="model", folder_path=str(src), revision=branch,
                                 commit_message=message, allow_patterns=files,
                                 # a revision is the pushed folder: drop weights an earlier push left behind
                                 delete_patterns=list(ALLOWED_PATTERNS))
    return {"location": str(loc), "revision": branch, "commit": info.oid, "files": files}


def record_path(snapshot: Path) -> Path:
    """Where genzoo records what the Hub published for a snapshot's commit: REPO_FOLDER/genzoo/COMMIT.json."""
    return snapshot.parent.parent / RECORDS / f"{snapshot.name}.json"


def _published(loc: Location, commit: str) -> Expected:
    """What the Hub publishes for each file genzoo downloads from a commit (one request)."""
    with _errors(loc, "listing the repo"):
        tree = HfApi().list_repo_tree(loc.repo_id, recursive=True, revision=commit, repo_type="model")
        return {f.path: ("sha256", f.lfs.sha256, f.lfs.size) if f.lfs else ("git blob id", f.blob_id, f.size)
                for f in tree if isinstance(f, RepoFile) and allowed(f.path)}


def _read_record(snapshot: Path) -> Expected | None:
    """The recorded expectations for this snapshot's commit, or None when there is no usable record."""
    try:
        record = json.loads(record_path(snapshot).read_text(encoding="utf-8"))
        if record.get("format") != RECORD_FORMAT or record.get("commit") != snapshot.name:
            return None
        files = record["files"]
        expected = {str(path): (str(f["kind"]), str(f["digest"]), int(f["size"])) for path, f in files.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # missing, unreadable or not ours
        return None
    return expected if all(kind in KINDS for kind, _, _ in expected.values()) else None


def _write_record(snapshot: Path, loc: Location, expected: Expected) -> None:
    record = {
        "format": RECORD_FORMAT, "repo": loc.repo_id, "commit": snapshot.name, "endpoint": constants.ENDPOINT,
        "files": {path: {"kind": kind, "digest": digest, "size": size}
                  for path, (kind, digest, size) in sorted(expected.items())},
    }
    # A read-only shared cache only costs the record: this pull is still verified, a later one asks again.
    with contextlib.suppress(OSError):
        record_path(snapshot).parent.mkdir(exist_ok=True)
        atomic_write_text(record_path(snapshot), json.dumps(record, indent=2) + "\n")


def _expected(loc: Location, snapshot: Path, offline: bool) -> Expected | None:
    """The record beside the snapshot; online and without one, the Hub's listing, recorded for next time.

    Offline with no record (a snapshot that something other than genzoo downloaded) there is nothing
    to compare against: None, and the snapshot is used as huggingface_hub left it."""
    expected = _read_record(snapshot)
    if expected is None and not offline:
        expected = _published(loc, snapshot.name)
        _write_record(snapshot, loc, expected)
    return expected


def _discard(path: Path) -> None:
    """Remove a cached file that failed verification: the snapshot link and the blob behind it."""
    with contextlib.suppress(OSError):
        target = path.resolve()
        path.unlink()
        if target != path:
            target.unlink()


def _verify(folder: Path, loc: Location, offline: bool) -> None:
    expected = _expected(loc, folder, offline)
    bad = []
    for name, (kind, want, size) in (expected or {}).items():
        local = folder / name
        if not local.is_file():
            raise GenzooError(f"{loc}: {name} is listed in commit {folder.name[:10]} but was not downloaded.")
        got = sha256_file(local) if kind == "sha256" else git_blob_sha1(local)
        if got != want or local.stat().st_size != size:
            bad.append(f"{name} ({kind} {got[:12]}... != {want[:12]}...)")
            _discard(local)
    if bad:
        raise GenzooError(f"{loc}: downloaded file failed verification against the Hub's metadata: {', '.join(bad)}; "
                          f"it was removed from the cache. The transfer was corrupted or the file was altered.")


def pull(loc: Location, *, offline: bool) -> Path:
    revision = loc.revision or DEFAULT_BRANCH
    with _errors(loc, "pull"):
        path = Path(snapshot_download(loc.repo_id, repo_type="model", revision=revision,
                                      allow_patterns=list(ALLOWED_PATTERNS), local_files_only=offline))
    _verify(path, loc, offline)
    if not (path / PRETRAINED_CONFIG).is_file():
        raise GenzooError(f"{loc} holds no {PRETRAINED_CONFIG}; it is not a genzoo pretrained folder.")
    return path


def list_repos(prefix: str) -> list[dict[str, Any]]:
    """``owner`` lists the owner's models; ``owner/name`` lists that repo's branches."""
    api = HfApi()
    parts = [p for p in prefix.split("/") if p]
    if not parts or len(parts) > 2:
        raise GenzooError(f"hf://{prefix}: give hf://OWNER or hf://OWNER/NAME.")
    if len(parts) == 1:
        with _errors(f"hf://{prefix}", "listing"):
            repos = [m.id for m in api.list_models(author=parts[0])]
    else:
        repos = ["/".join(parts)]
    out = []
    for repo_id in repos:
        with _errors(Location("hf", *repo_id.split("/", 1)), "listing"):
            refs = api.list_repo_refs(repo_id, repo_type="model")
        out.append({
            "repo": repo_id, "location": f"hf://{repo_id}",
            "revisions": [{"revision": b.name, "commit": b.target_commit, "date": "", "message": ""}
                          for b in refs.branches],
        })
    return out
