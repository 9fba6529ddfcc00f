"""``hf://owner/name[@revision]``: the Hugging Face Hub through huggingface_hub.

huggingface_hub does the transfers, the cache (HF_HOME / HF_HUB_CACHE), resumed downloads
and the token (HF_TOKEN or ``hf auth login``). genzoo adds what it needs on top: only
weight/description files are requested (allow_patterns), every file is checked against the
sha256 (LFS files) or git blob id (small files) that the repo's tree listing publishes before
it is loaded (online and offline), a file that fails is removed from the cache, and the
library's exceptions become one-line GenzooErrors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genzoo.core.atomic import sha256_file
from genzoo.core.errors import GenzooError

from .hub import ALLOWED_PATTERNS, DEFAULT_BRANCH, Location, allowed, git_blob_sha1


def _module() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise GenzooError("hf:// locations need huggingface_hub: pip install 'genzoo[hub]'.") from None
    return huggingface_hub


@contextlib.contextmanager
def _errors(loc: Location | str, action: str) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one line that says what to do."""
    hf = _module()
    from huggingface_hub import errors

    endpoint = hf.constants.ENDPOINT
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
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, errors.IncompleteSnapshotError):
        raise GenzooError(f"{loc} is not in the local cache ({hf.constants.HF_HUB_CACHE}) and {action} cannot reach "
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
    _module()
    from huggingface_hub import HfApi

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


def _expected(loc: Location, snapshot: Path, offline: bool) -> dict[str, tuple[str, str, int]] | None:
    """What the Hub published for each file of a commit: (kind, digest, size).

    huggingface_hub keeps the commit's tree listing beside the snapshot (trees/COMMIT.json, written
    by the snapshot_download that fetched it), so this needs no request, works offline, and also
    catches a cache altered later. Older huggingface_hub versions lack it: then ask the Hub."""
    commit = snapshot.name
    entries = None
    try:
        from huggingface_hub._tree_cache import read_tree_cache

        entries = read_tree_cache(str(snapshot.parent.parent), commit)
    except ImportError:
        pass
    if entries is not None:
        return {path: ("sha256", e.lfs_sha256, e.lfs_size or e.size) if e.lfs_sha256
                else ("git blob id", e.blob_id, e.size) for path, e in entries.items() if allowed(path)}
    if offline:
        return None  # verified when it was downloaded; nothing to compare against without the Hub
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    with _errors(loc, "listing the repo"):
        tree = HfApi().list_repo_tree(loc.repo_id, recursive=True, revision=commit, repo_type="model")
        return {f.path: ("sha256", f.lfs.sha256, f.lfs.size) if f.lfs else ("git blob id", f.blob_id, f.size)
                for f in tree if isinstance(f, RepoFile) and allowed(f.path)}


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
    _module()
    from huggingface_hub import snapshot_download

    revision = loc.revision or DEFAULT_BRANCH
    with _errors(loc, "pull"):
        path = Path(snapshot_download(loc.repo_id, repo_type="model", revision=revision,
                                      allow_patterns=list(ALLOWED_PATTERNS), local_files_only=offline))
    _verify(path, loc, offline)
    if not (path / "config.json").is_file():
        raise GenzooError(f"{loc} holds no config.json; it is not a genzoo pretrained folder.")
    return path


def list_repos(prefix: str) -> list[dict[str, Any]]:
    """``owner`` lists the owner's models; ``owner/name`` lists that repo's branches."""
    _module()
    from huggingface_hub import HfApi

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
