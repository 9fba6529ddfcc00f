"""A small Hugging Face Hub for tests: the subset of the Hub's HTTP API that huggingface_hub
uses to create repos and branches, upload folders (inline "regular" files and LFS files),
list trees and refs, and download files, with repos stored on disk.

    python tests/hub_server.py --root DIR [--token TOKEN] [--lfs-threshold BYTES]

prints ``READY http://127.0.0.1:PORT`` once it listens. Point HF_ENDPOINT at that URL (and,
for LFS uploads, set HF_HUB_DISABLE_XET=1). It follows the real Hub where huggingface_hub
depends on it: error codes in X-Error-Code, ETag / X-Repo-Commit / X-Linked-Etag /
X-Linked-Size on /resolve, Range requests, git blob ids and LFS pointers in tree listings,
private repos invisible without the token.

For tests it also has ``POST /_test/fault`` ({"path": FILE, "kind": "drop"|"tamper",
"times": N, "after": BYTES}: the next N downloads of FILE are cut off after BYTES (default
half the file) or served with a byte flipped) and ``GET /_test/log`` (every request so far,
with the upload mode of each committed file). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".pkl", ".ckpt", ".png", ".zip")
USER = "tester"


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}
        self.extra = extra or {}


class Store:
    """Repos on disk: ROOT/repos/OWNER/NAME/{repo.json, commits/ID.json}, ROOT/objects/OID, ROOT/lfs/SHA256."""

    def __init__(self, root: Path, token: str, lfs_threshold: int) -> None:
        self.root, self.token, self.lfs_threshold = root, token, lfs_threshold
        for sub in ("repos", "objects", "lfs", "incoming"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.faults: dict[str, dict] = {}
        self.log: list[dict] = []

    # -- repos and commits
    def repo_dir(self, repo_id: str) -> Path:
        return self.root / "repos" / repo_id

    def meta(self, repo_id: str, authed: bool) -> dict:
        path = self.repo_dir(repo_id) / "repo.json"
        if not path.is_file():
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        meta = json.loads(path.read_text())
        if meta["private"] and not authed:
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        return meta

    def save_meta(self, repo_id: str, meta: dict) -> None:
        path = self.repo_dir(repo_id) / "repo.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, path)

    def commit(self, repo_id: str, oid: str) -> dict:
        return json.loads((self.repo_dir(repo_id) / "commits" / f"{oid}.json").read_text())

    def resolve(self, repo_id: str, revision: str, authed: bool) -> tuple[str, dict]:
        meta = self.meta(repo_id, authed)
        oid = meta["branches"].get(revision)
        commit_file = self.repo_dir(repo_id) / "commits" / f"{revision}.json"
        if oid is None and re.fullmatch(r"[0-9a-f]{40}", revision) and commit_file.is_file():
            oid = revision
        if oid is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return oid, self.commit(repo_id, oid)

    def new_commit(self, repo_id: str, branch: str, parent: str | None, files: dict, summary: str) -> str:
        body = {"parent": parent, "summary": summary, "files": files, "date": time.time()}
        oid = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        commits = self.repo_dir(repo_id) / "commits"
        commits.mkdir(parents=True, exist_ok=True)
        (commits / f"{oid}.json").write_text(json.dumps(body, indent=1))
        meta = json.loads((self.repo_dir(repo_id) / "repo.json").read_text())
        meta["branches"][branch] = oid
        meta["lastModified"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        self.save_meta(repo_id, meta)
        return oid

    def add_regular(self, data: bytes) -> dict:
        oid = git_oid(data)
        (self.root / "objects" / oid).write_bytes(data)
        return {"oid": oid, "size": len(data), "lfs": None}

    def file_bytes(self, entry: dict) -> bytes:
        if entry["lfs"]:
            return (self.root / "lfs" / entry["lfs"]["oid"]).read_bytes()
        return (self.root / "objects" / entry["oid"]).read_bytes()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "genzoo-test-hub/1"
    store: Store

    def log_message(self, fmt: str, *args) -> None:  # keep test output quiet
        pass

    # -- plumbing
    @property
    def base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    @property
    def authed(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.store.token}"

    def body(self) -> bytes:
        """The request body (read once, in dispatch, so that an error reply never leaves it unread)."""
        return self._body

    def read_body(self) -> bytes:
        if self.command not in ("POST", "PUT"):
            return b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status: int, payload: object = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None, head: bool = False) -> None:
        data = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        if raw is None:
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def record(self, **extra) -> None:
        with self.store.lock:
            self.store.log.append({"method": self.command, "path": self.path, **extra})

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        self._body = self.read_body()
        if parts[0] != "_test":
            self.record()
        try:
            self.route(method, parts)
        except HubError as exc:
            headers = {"X-Error-Code": exc.code, **exc.headers} if exc.code else dict(exc.headers)
            headers["X-Error-Message"] = exc.message
            self.send(exc.status, {"error": exc.message, **exc.extra}, headers, head=method == "HEAD")
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_HEAD(self) -> None:
        self.dispatch("HEAD")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def need_auth(self) -> None:
        if not self.authed:
            raise HubError(401, None, "Invalid username or password.")

    # -- routes
    def route(self, method: str, p: list[str]) -> None:
        store = self.store
        if p[:2] == ["_test", "fault"] and method == "POST":
            fault = json.loads(self.body())
            with store.lock:
                store.faults[fault["path"]] = fault
            return self.send(200, {"ok": True})
        if p[:2] == ["_test", "log"]:
            with store.lock:
                return self.send(200, list(store.log))
        if p[:2] == ["api", "whoami-v2"]:
            self.need_auth()
            return self.send(200, {"name": USER, "type": "user", "orgs": [], "auth": {"type": "access_token"}})
        if p[:3] == ["api", "repos", "create"] and method == "POST":
            return self.create_repo(json.loads(self.body()))
        if p[:2] == ["api", "validate-yaml"]:
            self.body()
            return self.send(200, {"errors": [], "warnings": []})
        if p[:2] == ["api", "models"] and len(p) == 2:
            return self.list_models()
        if p[:2] == ["api", "models"] and len(p) >= 5:
            repo_id, action, rest = f"{unquote(p[2])}/{unquote(p[3])}", p[4], [unquote(x) for x in p[5:]]
            if action == "revision" and method == "GET":
                return self.model_info(repo_id, rest[0] if rest else "main")
            if action == "tree" and method == "GET":
                return self.tree(repo_id, rest[0], "/".join(rest[1:]))
            if action == "refs" and method == "GET":
                return self.refs(repo_id)
            if action == "preupload" and method == "POST":
                return self.preupload(repo_id, rest[0])
            if action == "commit" and method == "POST":
                return self.commit(repo_id, rest[0])
            if action == "branch" and method == "POST":
                return self.branch(repo_id, "/".join(rest))
        if p[:2] == ["api", "models"] and len(p) == 4 and method == "GET":
            return self.model_info(f"{p[2]}/{p[3]}", "main")
        if p[:2] == ["_lfs", "upload"] and method == "PUT":
            return self.lfs_upload(p[2])
        if p[:2] == ["_lfs", "verify"] and method == "POST":
            return self.lfs_verify()
        if len(p) >= 2 and p[1].endswith(".git") and p[2:] == ["info", "lfs", "objects", "batch"]:
            return self.lfs_batch(f"{p[0]}/{p[1][:-4]}")
        if len(p) >= 5 and p[2] == "resolve" and method in ("GET", "HEAD"):
            return self.resolve(f"{p[0]}/{p[1]}", unquote(p[3]), unquote("/".join(p[4:])), method == "HEAD")
        raise HubError(404, None, f"no route for {method} {self.path}")

    def create_repo(self, payload: dict) -> None:
        self.need_auth()
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        store = self.store
        with store.lock:
            if (store.repo_dir(repo_id) / "repo.json").is_file():
                raise HubError(409, None, "You already created this model repo",
                               extra={"url": f"{self.base}/{repo_id}"})
            store.repo_dir(repo_id).mkdir(parents=True)
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            store.save_meta(repo_id, {"id": repo_id, "private": private, "branches": {},
                                      "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())})
            attrs = store.add_regular(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
            store.new_commit(repo_id, "main", None, {".gitattributes": attrs}, "initial commit")
        self.send(200, {"url": f"{self.base}/{repo_id}", "name": repo_id, "id": repo_id})

    def model_info(self, repo_id: str, revision: str) -> None:
        oid, commit = self.store.resolve(repo_id, revision, self.authed)
        meta = self.store.meta(repo_id, self.authed)
        siblings = [{"rfilename": path} for path in sorted(commit["files"])]
        self.send(200, {"_id": repo_id, "id": repo_id, "modelId": repo_id, "author": repo_id.split("/")[0],
                        "sha": oid, "private": meta["private"], "disabled": False, "gated": False,
                        "lastModified": meta.get("lastModified"), "tags": [], "siblings": siblings,
                        "library_name": "genzoo"})

    def list_models(self) -> None:
        author = self.query.get("author")
        out = []
        for meta_path in sorted((self.store.root / "repos").glob("*/*/repo.json")):
            meta = json.loads(meta_path.read_text())
            if author and meta["id"].split("/")[0] != author:
                continue
            if meta["private"] and not self.authed:
                continue
            out.append({"_id": meta["id"], "id": meta["id"], "modelId": meta["id"], "private": meta["private"],
                        "tags": [], "library_name": "genzoo"})
        self.send(200, out)

    def refs(self, repo_id: str) -> None:
        meta = self.store.meta(repo_id, self.authed)
        branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": oid} for b, oid in meta["branches"].items()]
        self.send(200, {"branches": branches, "tags": [], "converts": [], "pullRequests": []})

    def tree(self, repo_id: str, revision: str, path: str) -> None:
        _, commit = self.store.resolve(repo_id, revision, self.authed)
        recursive = self.query.get("recursive", "false").lower() in ("true", "1")
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        entries, folders = [], set()
        for name, entry in sorted(commit["files"].items()):
            if not name.startswith(prefix):
                continue
            rel = name[len(prefix):]
            dirs = rel.split("/")[:-1]
            for i in range(len(dirs) if recursive else min(len(dirs), 1)):
                folders.add(prefix + "/".join(dirs[: i + 1]))
            if "/" in rel and not recursive:
                continue
            item = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": name}
            if entry["lfs"]:
                item["lfs"] = {"oid": entry["lfs"]["oid"], "size": entry["size"],
                               "pointerSize": len(lfs_pointer(entry["lfs"]["oid"], entry["size"]))}
            entries.append(item)
        if prefix and not entries and not folders:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {revision}")
        dirs_out = [{"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0, "path": f}
                    for f in sorted(folders)]
        self.send(200, dirs_out + entries)

    def preupload(self, repo_id: str, revision: str) -> None:
        self.need_auth()
        _, commit = self.store.resolve(repo_id, unquote(revision), True)
        out = []
        for f in json.loads(self.body())["files"]:
            lfs = f["path"].endswith(LFS_SUFFIXES) or f["size"] >= self.store.lfs_threshold
            existing = commit["files"].get(f["path"])
            remote = None
            if existing:
                remote = existing["lfs"]["oid"] if existing["lfs"] else existing["oid"]
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": remote})
        self.send(200, {"files": out, "commitOid": None})

    def lfs_batch(self, repo_id: str) -> None:
        self.need_auth()
        self.store.meta(repo_id, True)
        payload = json.loads(self.body())
        objects = []
        for obj in payload["objects"]:
            item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not (self.store.root / "lfs" / obj["oid"]).is_file():
                item["actions"] = {
                    "upload": {"href": f"{self.base}/_lfs/upload/{obj['oid']}", "header": {}},
                    "verify": {"href": f"{self.base}/_lfs/verify/{repo_id}", "header": {}},
                }
            objects.append(item)
        self.send(200, {"transfer": "basic", "objects": objects},
                  {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, oid: str) -> None:
        data = self.body()
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, None, f"uploaded content does not hash to {oid}")
        target = self.store.root / "lfs" / oid
        tmp = self.store.root / "incoming" / f"{oid}.{threading.get_ident()}"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        self.record(lfs_upload=oid, size=len(data))
        self.send(200, None)

    def lfs_verify(self) -> None:
        info = json.loads(self.body())
        path = self.store.root / "lfs" / info["oid"]
        if not path.is_file() or path.stat().st_size != info["size"]:
            raise HubError(404, None, f"LFS object {info['oid']} not found")
        self.send(200, {"ok": True})

    def commit(self, repo_id: str, revision: str) -> None:
        self.need_auth()
        store = self.store
        lines = [json.loads(line) for line in self.body().splitlines() if line.strip()]
        with store.lock:
            meta = store.meta(repo_id, True)
            branch = unquote(revision)
            if branch not in meta["branches"]:
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {branch}")
            parent = meta["branches"][branch]
            files = dict(store.commit(repo_id, parent)["files"])
            summary = ""
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "header":
                    summary = value.get("summary", "")
                    if value.get("parentCommit") and value["parentCommit"] != parent:
                        raise HubError(412, None, "A commit has happened since. Please refresh and try again.")
                elif key == "file":
                    data = base64.b64decode(value["content"])
                    files[value["path"]] = store.add_regular(data)
                    self.record(committed=value["path"], mode="regular")
                elif key == "lfsFile":
                    blob = store.root / "lfs" / value["oid"]
                    if not blob.is_file():
                        raise HubError(422, None, f"LFS object {value['oid']} was never uploaded")
                    size = blob.stat().st_size
                    pointer = lfs_pointer(value["oid"], size)
                    files[value["path"]] = {"oid": git_oid(pointer), "size": size,
                                            "lfs": {"oid": value["oid"], "size": size}}
                    self.record(committed=value["path"], mode="lfs")
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {k: v for k, v in files.items() if not k.startswith(prefix)}
                else:
                    raise HubError(400, None, f"unsupported commit operation {key!r}")
            oid = store.new_commit(repo_id, branch, parent, files, summary)
        self.send(200, {"success": True, "commitOid": oid, "commitUrl": f"{self.base}/{repo_id}/commit/{oid}",
                        "pullRequestUrl": None})

    def branch(self, repo_id: str, branch: str) -> None:
        self.need_auth()
        payload = json.loads(self.body() or b"{}")
        with self.store.lock:
            meta = self.store.meta(repo_id, True)
            if branch in meta["branches"]:
                raise HubError(409, None, f"Branch {branch} already exists")
            start, _ = self.store.resolve(repo_id, payload.get("startingPoint") or "main", True)
            meta["branches"][branch] = start
            self.store.save_meta(repo_id, meta)
        self.send(200, {"ok": True})

    def resolve(self, repo_id: str, revision: str, path: str, head: bool) -> None:
        oid, commit = self.store.resolve(repo_id, revision, self.authed)
        entry = commit["files"].get(path)
        if entry is None:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {revision}", {"X-Repo-Commit": oid})
        headers = {"X-Repo-Commit": oid, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if entry["lfs"]:
            headers.update({"ETag": f'"{entry["lfs"]["oid"]}"', "X-Linked-Etag": f'"{entry["lfs"]["oid"]}"',
                            "X-Linked-Size": str(entry["size"])})
        else:
            headers["ETag"] = f'"{entry["oid"]}"'
        data = self.store.file_bytes(entry)
        if head:
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        status = 200
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        self.record(served=path, range=self.headers.get("Range"), size=len(data))
        fault, cut = None, len(data) // 2
        with self.store.lock:
            f = self.store.faults.get(path)
            if f and f.get("times", 1) > 0:
                f["times"] = f.get("times", 1) - 1
                fault, cut = f["kind"], min(f.get("after", cut), len(data) - 1)
        if fault == "tamper":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "drop":  # part of the body, then the connection dies, as on a flaky network
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.record(dropped=path, after=cut)
            return
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="where repos are stored")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="hf_genzoo_test_token")
    parser.add_argument("--lfs-threshold", type=int, default=10 * 1024 * 1024,
                        help="files at least this big are LFS (beside *.safetensors, *.png, pickles)")
    args = parser.parse_args(argv)
    Handler.store = Store(Path(args.root), args.token, args.lfs_threshold)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


def url_path(repo_id: str, revision: str, filename: str) -> str:
    """The /resolve path huggingface_hub requests for a file (useful when reading the log)."""
    return f"/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"


if __name__ == "__main__":
    main()
