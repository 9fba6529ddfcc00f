"""hf:// locations against a real HTTP server speaking the Hub API (tests/hub_server.py).

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when it is imported, so genzoo runs in
subprocesses with the environment set; the server runs in another. HF_HUB_DISABLE_XET=1 makes
huggingface_hub use the LFS protocol; the server answers "regular" (inline base64) for small
text files and "lfs" for weights and images, so one push exercises both upload modes.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from hubtools import TINY, TOKEN, digests, hub_server, make_pretrained, same_state

import genzoo

REPO = "tester/dcgan-tiny"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("hf")
    m1 = make_pretrained(root / "v1", seed=0, ema=True)
    m2 = make_pretrained(root / "v2", seed=1, ema=False)
    with hub_server(root / "server") as url:
        yield {"url": url, "root": root, "v1": root / "v1", "v2": root / "v2", "m1": m1, "m2": m2}


def env_for(hub: dict, home: Path, *, token: bool = True, offline: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GENZOO_"))}
    env.update({
        "HF_ENDPOINT": hub["url"], "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1" if offline else "0", "GENZOO_OFFLINE": "1" if offline else "0",
        "GENZOO_CACHE": str(home / "genzoo"), "COLUMNS": "200",
    })
    if token:
        env["HF_TOKEN"] = TOKEN
    return env


def genzoo_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genzoo.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one-line error (warnings about other plugins aside); fails on a traceback."""
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def assert_pushed_copy(pulled: Path, local: Path, location: str = f"hf://{REPO}") -> None:
    """The same files; each byte-identical but the model card, whose usage snippet loads ``location``."""
    got, want = digests(pulled), digests(local)
    assert sorted(got) == sorted(want)
    assert {k: v for k, v in got.items() if k != "README.md"} == {k: v for k, v in want.items() if k != "README.md"}
    assert f'create_model("{location}' in (pulled / "README.md").read_text(encoding="utf-8")


def server_log(hub: dict) -> list[dict]:
    with urllib.request.urlopen(f"{hub['url']}/_test/log") as resp:
        return json.loads(resp.read())


def fault(hub: dict, path: str, kind: str, **extra: int) -> None:
    body = json.dumps({"path": path, "kind": kind, "times": 1, **extra}).encode()
    req = urllib.request.Request(f"{hub['url']}/_test/fault", body, method="POST")
    urllib.request.urlopen(req).close()


@pytest.fixture(scope="module")
def pushed(hub: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """v1 (with EMA) on main of a private repo, v2 (no EMA) on branch v2, both through `genzoo push`."""
    env = env_for(hub, tmp_path_factory.mktemp("pusher"))
    out1 = ok(genzoo_cli(env, "push", str(hub["v1"]), f"hf://{REPO}", "--private", "-m", "first weights"))
    out2 = ok(genzoo_cli(env, "push", str(hub["v2"]), f"hf://{REPO}", "--revision", "v2"))
    return {"main": out1.rsplit("commit ", 1)[1].rstrip(")"), "v2": out2.rsplit("commit ", 1)[1].rstrip(")")}


def test_push_pull_round_trip_with_both_upload_modes_and_branches(hub: dict, pushed: dict, tmp_path: Path) -> None:
    log = server_log(hub)
    modes = {(e["committed"], e["mode"]) for e in log if "committed" in e}
    assert {("config.json", "regular"), ("README.md", "regular")} <= modes  # inline base64 in the commit
    assert {("model.safetensors", "lfs"), ("model.ema.safetensors", "lfs"), ("samples.png", "lfs")} <= modes
    assert sum("lfs_upload" in e for e in log) >= 4  # PUT to the href the LFS batch endpoint handed out

    env = env_for(hub, tmp_path / "home")
    main_path = Path(ok(genzoo_cli(env, "pull", f"hf://{REPO}")))
    v2_path = Path(ok(genzoo_cli(env, "pull", f"hf://{REPO}", "--revision", "v2")))
    assert main_path.name == pushed["main"] and v2_path.name == pushed["v2"]
    assert str(main_path).startswith(str(tmp_path / "home" / "hub"))  # huggingface_hub's own cache
    assert_pushed_copy(main_path, hub["v1"])  # byte-identical, EMA variant included
    assert_pushed_copy(v2_path, hub["v2"])  # exactly v2: main's EMA file was not inherited
    assert same_state(genzoo.create_model(str(v2_path)).state_dict(), hub["m2"].state_dict())
    assert same_state(genzoo.create_model(str(main_path), variant="raw").state_dict(), hub["m1"].state_dict())

    listing = ok(genzoo_cli(env, "hub", "ls", "hf://tester"))
    assert f"hf://{REPO}" in listing and pushed["main"] in listing and pushed["v2"] in listing

    anonymous = env_for(hub, tmp_path / "anon", token=False)
    line = error_line(genzoo_cli(anonymous, "pull", f"hf://{REPO}"))
    assert "private" in line and "HF_TOKEN" in line
    line = error_line(genzoo_cli(env, "pull", f"hf://{REPO}@nope"))
    assert "no revision 'nope'" in line
    line = error_line(genzoo_cli(env, "pull", "hf://tester/missing"))
    assert "no such repo" in line


CLIENT = """
import hashlib, json, sys
import genzoo
from genzoo import hub
out = {}
for spec in sys.argv[1:]:
    kind, _, target = spec.partition("=")
    if kind == "model":
        name, _, variant = target.partition("|")
        sd = genzoo.create_model(name, pretrained=True, variant=variant or "default").state_dict()
        out[spec] = hashlib.sha256(b"".join(k.encode() + v.cpu().numpy().tobytes() for k, v in sd.items())).hexdigest()
    else:
        out[spec] = str(hub.pull(target))
print(json.dumps(out))
"""


def state_digest(state: dict) -> str:
    import hashlib

    return hashlib.sha256(b"".join(k.encode() + v.numpy().tobytes() for k, v in state.items())).hexdigest()


def test_offline_reuse_honours_pinned_revisions(hub: dict, pushed: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    catalog = tmp_path / "zoo.toml"
    config = ", ".join(f"{k} = {v}" for k, v in TINY.items())
    catalog.write_text(f'[models.dcgan-tiny-hf]\nmodel = "dcgan"\nhub = "hf://{REPO}@v2"\n'
                       f"config = {{ image_size = 28, channels = 1, {config} }}\n")
    online = {**env_for(hub, home), "GENZOO_CATALOG": str(catalog)}
    ok(genzoo_cli(online, "pull", f"hf://{REPO}"))
    ok(genzoo_cli(online, "pull", f"hf://{REPO}@v2"))
    before = len(server_log(hub))

    offline = {**env_for(hub, home, token=False, offline=True), "GENZOO_CATALOG": str(catalog)}
    args = [f"model=hf://{REPO}@v2", f"model=hf://{REPO}|raw", "model=dcgan-tiny-hf",
            f"pull=hf://{REPO}@{pushed['main']}", f"pull=hf://{REPO}"]
    proc = subprocess.run([sys.executable, "-c", CLIENT, *args], env=offline, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got[f"model=hf://{REPO}@v2"] == state_digest(hub["m2"].state_dict())
    assert got["model=dcgan-tiny-hf"] == state_digest(hub["m2"].state_dict())  # zoo.toml's hub, pinned @v2
    assert got[f"model=hf://{REPO}|raw"] == state_digest(hub["m1"].state_dict())
    assert Path(got[f"pull=hf://{REPO}@{pushed['main']}"]).name == pushed["main"]
    assert Path(got[f"pull=hf://{REPO}"]).name == pushed["main"]
    assert len(server_log(hub)) == before  # not one request while offline

    never = env_for(hub, tmp_path / "empty", offline=False)
    line = error_line(genzoo_cli(never, "pull", "--offline", f"hf://{REPO}@v2"))
    assert "not in the local cache" in line


def test_interrupted_download_is_resumed_and_verified(hub: dict, tmp_path: Path) -> None:
    # huggingface_hub writes in 10 MiB chunks, so only a cut past 10 MiB can be resumed (g_width=256: 18 MB).
    big = tmp_path / "big"
    make_pretrained(big, seed=2, ema=False, g_width=256)
    size = (big / "model.safetensors").stat().st_size
    env = env_for(hub, tmp_path / "home")
    ok(genzoo_cli(env, "push", str(big), "hf://tester/big"))
    cut = size - 2_000_000
    fault(hub, "model.safetensors", "drop", after=cut)
    start = len(server_log(hub))
    path = Path(ok(genzoo_cli(env, "pull", "hf://tester/big")))
    log = server_log(hub)[start:]
    dropped = [e for e in log if e.get("dropped") == "model.safetensors"]
    assert len(dropped) == 1 and dropped[0]["after"] == cut  # the connection died mid-file
    resumed = [e for e in log if e.get("served") == "model.safetensors" and e.get("range")]
    assert len(resumed) == 1
    offset = int(resumed[0]["range"][len("bytes="):-1])
    assert 0 < offset <= cut and resumed[0]["size"] == size - offset  # only the missing tail was sent again
    assert_pushed_copy(path, big, "hf://tester/big")


def test_tampered_download_is_rejected_and_not_cached(hub: dict, pushed: dict, tmp_path: Path) -> None:
    env = env_for(hub, tmp_path / "home")
    fault(hub, "model.safetensors", "tamper")
    line = error_line(genzoo_cli(env, "pull", f"hf://{REPO}"))
    assert "model.safetensors (sha256" in line and "removed from the cache" in line
    cache = tmp_path / "home" / "hub" / "models--tester--dcgan-tiny"
    good = digests(hub["v1"])["model.safetensors"]
    blobs = {p.name for p in (cache / "blobs").iterdir()}
    assert good not in blobs and not [b for b in blobs if b.endswith(".incomplete")]
    assert not (cache / "snapshots" / pushed["main"] / "model.safetensors").exists()
    # nothing poisoned: the next pull downloads the file again and gets the real bytes
    start = len(server_log(hub))
    path = Path(ok(genzoo_cli(env, "pull", f"hf://{REPO}")))
    assert_pushed_copy(path, hub["v1"])
    listings = [e["path"] for e in server_log(hub)[start:] if f"/tree/{pushed['main']}" in e["path"]]
    assert not listings, listings  # the commit is listed once: genzoo recorded it (and so did huggingface_hub)
    # what the Hub published for the commit, recorded by genzoo beside the snapshot
    record = json.loads((cache / "genzoo" / f"{pushed['main']}.json").read_text())
    assert record["commit"] == pushed["main"] and record["repo"] == REPO
    assert record["files"]["model.safetensors"] == {"kind": "sha256", "digest": good, "size": len(
        (hub["v1"] / "model.safetensors").read_bytes())}
    assert record["files"]["config.json"]["kind"] == "git blob id"  # a small file: git's id, not LFS
    # a cached file altered later is caught too, offline, against that record alone: huggingface_hub's own
    # (private) tree listing in the cache is not what genzoo reads
    shutil.rmtree(cache / "trees", ignore_errors=True)
    blob = (path / "model.safetensors").resolve()
    blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
    line = error_line(genzoo_cli(env, "pull", "--offline", f"hf://{REPO}"))
    assert "model.safetensors (sha256" in line and not blob.exists()


class _Evil:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


UPLOAD = """
import sys
from huggingface_hub import HfApi
api = HfApi()
for name in sys.argv[2:]:
    api.upload_file(path_or_fileobj=open(sys.argv[1], "rb").read(), path_in_repo=name, repo_id="tester/evil",
                    commit_message="add " + name)
"""


def test_pickle_in_a_repo_is_never_downloaded_or_loaded(hub: dict, pushed: dict, tmp_path: Path) -> None:
    env = env_for(hub, tmp_path / "home")
    ok(genzoo_cli(env, "push", str(hub["v2"]), "hf://tester/evil"))
    marker = tmp_path / "pickle-was-loaded"
    payload = tmp_path / "payload"
    payload.write_bytes(pickle.dumps(_Evil(marker)))
    names = ["pytorch_model.bin", "model.pkl", "weights.pt"]
    upload = subprocess.run([sys.executable, "-c", UPLOAD, str(payload), *names], env=env, capture_output=True,
                            text=True, timeout=120)
    assert upload.returncode == 0, upload.stderr
    start = len(server_log(hub))
    path = Path(ok(genzoo_cli(env, "pull", "hf://tester/evil")))
    assert sorted(digests(path)) == sorted(digests(hub["v2"]))  # only the safetensors/json/md/png files
    requested = " ".join(e["path"] for e in server_log(hub)[start:])
    assert not any(n in requested for n in names)  # the pickles were never even requested
    model = genzoo.create_model(str(path))
    assert same_state(model.state_dict(), hub["m2"].state_dict())
    assert not marker.exists()
