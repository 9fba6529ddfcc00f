"""The directory hub (file:///HUB/OWNER/NAME[@REV]): push, pull, revisions, listing, offline use,
atomic publishing under concurrent readers, verification, and pickles that never travel."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubtools import TINY, digests, make_pretrained, same_state

import genzoo
from genzoo import hub
from genzoo.cli import cli
from genzoo.core.errors import GenzooError
from genzoo.hub.directory import MANIFEST, snapshot_id


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("hubdir")
    v1 = make_pretrained(root / "v1", seed=0, ema=True)
    v2 = make_pretrained(root / "v2", seed=1, ema=False)
    return {"root": root, "v1": root / "v1", "v2": root / "v2", "m1": v1, "m2": v2}


def assert_pushed_copy(pulled: Path, local: Path, location: str) -> None:
    """The same files; each byte-identical but the model card, whose usage snippet loads ``location``."""
    got, want = digests(pulled), digests(local)
    assert sorted(got) == sorted(want)
    assert {k: v for k, v in got.items() if k != "README.md"} == {k: v for k, v in want.items() if k != "README.md"}
    assert f'create_model("{location}")' in (pulled / "README.md").read_text(encoding="utf-8")


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_push_pull_round_trip_revisions_and_listing(folders: dict, online: Path) -> None:
    hub_root = online / "hub"
    loc = f"file://{hub_root}/team/dcgan-tiny"
    out = run("push", str(folders["v1"]), loc, "--private", "-m", "first weights")
    assert out.exit_code == 0, out.output
    out = run("push", str(folders["v2"]), loc, "--revision", "exp")
    assert out.exit_code == 0, out.output
    assert (hub_root / "team" / "dcgan-tiny").stat().st_mode & 0o777 == 0o700  # --private on a new repo

    main_path = Path(run("pull", loc).output.strip())
    exp_path = Path(run("pull", loc, "--revision", "exp").output.strip())
    assert_pushed_copy(main_path, folders["v1"], loc)  # byte-identical, EMA variant included
    assert_pushed_copy(exp_path, folders["v2"], f"{loc}@exp")  # exactly v2's files: no EMA left over from main
    assert str(main_path).startswith(str(online / "cache" / "hub"))

    # a snapshot id prefix pins the same content; loading gives the pushed tensors
    sid = exp_path.name
    assert hub.pull(f"{loc}@{sid[:10]}") == exp_path
    model = genzoo.create_model(f"{loc}@exp")
    assert same_state(model.state_dict(), folders["m2"].state_dict())
    raw = genzoo.create_model(loc, variant="raw")
    assert same_state(raw.state_dict(), folders["m1"].state_dict())
    ema = genzoo.create_model(loc)  # default: the EMA generator the folder carries
    assert not same_state(ema.state_dict(), folders["m1"].state_dict())

    listing = run("hub", "ls", f"file://{hub_root}")
    assert listing.exit_code == 0, listing.output
    assert f"{loc}\n" in listing.output
    assert "@main" in listing.output and main_path.name in listing.output and "first weights" in listing.output
    assert "@exp" in listing.output and sid in listing.output
    repos = json.loads(run("hub", "ls", loc, "--json").output)
    assert [r["revision"] for r in repos[0]["revisions"]] == ["exp", "main"] and repos[0]["snapshots"] == 2


def test_what_a_push_publishes_is_readable_by_teammates(folders: dict, online: Path) -> None:
    """A shared hub is read by other users: what a push publishes gets the modes mkdir and open() give under
    the pusher's umask, not mkdtemp's 0700 or mkstemp's 0600 (which kept every teammate out of snapshots/
    and refs/). Checked by mode: pulling as another uid would need an interpreter that user can run, and
    this project's lives under root's 0700 home on its CI machines."""
    hub_root = online / "hub"
    loc = f"file://{hub_root}/team/dcgan-tiny"
    assert run("push", str(folders["v1"]), loc).exit_code == 0
    umask = os.umask(0o077)
    os.umask(umask)
    published = list((hub_root / "team" / "dcgan-tiny").rglob("*"))
    assert any(p.parent.name == "snapshots" for p in published) and any(p.parent.name == "refs" for p in published)
    for path in published:
        assert path.stat().st_mode & 0o777 == (0o777 if path.is_dir() else 0o666) & ~umask, path


def test_push_run_dir_pushes_its_pretrained_folder(folders: dict, online: Path) -> None:
    # The layout `genzoo train` writes: run.json beside pretrained/ (and checkpoints, which never travel).
    run_dir = online / "run"
    shutil.copytree(folders["v2"], run_dir / "pretrained")
    (run_dir / "run.json").write_text(json.dumps({"model": "dcgan-mnist"}))
    (run_dir / "checkpoint.safetensors").write_bytes(b"not pushed")
    result = hub.push(run_dir, f"file://{online}/hub/me/run")
    assert result["files"] == sorted(digests(folders["v2"]))
    assert_pushed_copy(hub.pull(f"file://{online}/hub/me/run"), folders["v2"], f"file://{online}/hub/me/run")
    with pytest.raises(GenzooError, match="no pretrained/ folder yet"):
        shutil.rmtree(run_dir / "pretrained")
        hub.push(run_dir, f"file://{online}/hub/me/run")


def test_offline_uses_cache_and_honours_pinned_revision(folders: dict, online: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    loc = f"file://{online}/hub/team/m"
    hub.push(folders["v1"], loc)
    hub.push(folders["v2"], loc, revision="exp")
    main_path, exp_path = hub.pull(loc), hub.pull(loc, revision="exp")
    hub.push(folders["v2"], loc)  # main moves on after our pull
    os.rename(online / "hub", online / "hub-gone")  # and the shared drive goes away

    monkeypatch.setenv("GENZOO_OFFLINE", "1")
    assert hub.pull(loc) == main_path  # what we pulled, not the newer main we never saw
    assert hub.pull(f"{loc}@exp") == exp_path
    assert hub.pull(f"{loc}@{main_path.name}") == main_path
    model = genzoo.create_model(f"{loc}@exp")
    assert same_state(model.state_dict(), folders["m2"].state_dict())
    with pytest.raises(GenzooError, match="not in the cache .* offline"):
        hub.pull(f"{loc}@never-pulled")
    monkeypatch.setenv("GENZOO_OFFLINE", "0")
    out = run("pull", "--offline", f"{loc}@exp")  # the CLI flag alone is enough
    assert out.exit_code == 0 and Path(out.output.strip()) == exp_path


def test_concurrent_readers_never_see_half_a_model(folders: dict, online: Path) -> None:
    loc = f"file://{online}/hub/team/busy"
    repo = online / "hub" / "team" / "busy"
    versions = []
    for i in range(6):  # six distinct models, so every push publishes a new snapshot
        shutil.copytree(folders["v1"], online / f"v{i}")
        with open(online / f"v{i}" / "README.md", "a") as card:
            card.write(f"\nversion {i}\n")
        versions.append(online / f"v{i}")
    hub.push(versions[0], loc)
    stop, seen, errors = threading.Event(), set(), []

    def check(snap: Path) -> None:
        files = json.loads((snap / MANIFEST).read_text())["files"]
        for name, meta in files.items():
            if hashlib.sha256((snap / name).read_bytes()).hexdigest() != meta["sha256"]:
                errors.append(f"{snap.name}/{name} does not match its manifest")
        if snapshot_id(files) != snap.name:
            errors.append(f"{snap.name}: manifest does not hash to its id")

    def reader() -> None:
        while not stop.is_set():
            sid = (repo / "refs" / "main").read_text().strip()
            seen.add(sid)
            try:
                check(repo / "snapshots" / sid)  # what the branch points at
                for snap in (repo / "snapshots").iterdir():  # and every published snapshot
                    if not snap.name.startswith("."):
                        check(snap)
            except OSError as exc:
                errors.append(f"{sid}: {exc}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for folder in versions[1:]:
            hub.push(folder, loc)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert len(seen) >= 3  # the reader really ran while versions were being published
    assert not [p for p in (repo / "snapshots").iterdir() if p.name.startswith(".tmp")]  # no leftovers
    assert len((repo / "log.jsonl").read_text().splitlines()) == 6


def test_tampered_hub_file_is_rejected_and_nothing_cached(folders: dict, online: Path) -> None:
    loc = f"file://{online}/hub/team/t"
    sid = hub.push(folders["v1"], loc)["commit"]
    weights = online / "hub" / "team" / "t" / "snapshots" / sid / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last tensor: still a readable safetensors file
    weights.write_bytes(bytes(data))
    with pytest.raises(GenzooError, match="model.safetensors failed verification"):
        hub.pull(loc)
    cache = online / "cache" / "hub"
    assert not [p for p in cache.rglob("*") if p.name == sid or p.name.startswith(".tmp") or p.suffix == ".safetensors"]
    out = run("pull", loc)
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "failed verification" in out.output


class _Evil:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


def test_pickle_in_a_repo_is_never_copied_or_loaded(folders: dict, online: Path) -> None:
    loc = f"file://{online}/hub/team/p"
    sid = hub.push(folders["v2"], loc)["commit"]
    repo = online / "hub" / "team" / "p"
    # Someone published with another tool: the snapshot carries pickles, listed in a valid manifest.
    marker = online / "pickle-was-loaded"
    snap = repo / "snapshots" / sid
    evil_dir = repo / "snapshots" / "tmp-evil"
    shutil.copytree(snap, evil_dir)
    manifest = json.loads((snap / MANIFEST).read_text())
    for name in ("pytorch_model.bin", "model.pkl", "weights.pt"):
        payload = pickle.dumps(_Evil(marker))
        (evil_dir / name).write_bytes(payload)
        manifest["files"][name] = {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    (evil_dir / MANIFEST).write_text(json.dumps(manifest))
    evil_sid = snapshot_id(manifest["files"])
    os.rename(evil_dir, repo / "snapshots" / evil_sid)
    (repo / "refs" / "main").write_text(evil_sid + "\n")

    path = hub.pull(loc)
    assert path.name == evil_sid
    assert sorted(digests(path)) == sorted(digests(folders["v2"]))  # no .bin/.pkl/.pt came along
    model = genzoo.create_model(loc)
    assert same_state(model.state_dict(), folders["m2"].state_dict())  # the safetensors weights were used
    assert not marker.exists()


def test_registered_name_pulls_the_hub_location_its_variant_names(folders: dict, online: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    loc = f"file://{online}/hub/zoo/tiny@exp"
    hub.push(folders["v2"], loc)
    catalog = online / "team-zoo.toml"
    config = ", ".join(f"{k} = {v}" for k, v in TINY.items())
    catalog.write_text(f'[models.dcgan-tiny-hub]\nmodel = "dcgan"\nhub = "{loc}"\n'
                       f"config = {{ image_size = 28, channels = 1, {config} }}\n")
    monkeypatch.setenv("GENZOO_CATALOG", str(catalog))
    from genzoo.zoo import get_zoo

    get_zoo.cache_clear()
    try:
        model = genzoo.create_model("dcgan-tiny-hub", pretrained=True)
        assert same_state(model.state_dict(), folders["m2"].state_dict())
        assert genzoo.create_model("dcgan-tiny-hub").state_dict().keys() == model.state_dict().keys()
    finally:
        monkeypatch.delenv("GENZOO_CATALOG")
        get_zoo.cache_clear()


@pytest.mark.parametrize(("location", "message"), [
    ("hf://only-owner", "does not name a repo"),
    ("file://relative/team/x", "absolute path"),
    ("file:///tmp/team/x@", "names no revision"),
    ("file:///tmp/team/x@bad..rev", "not a valid branch"),
    ("s3://bucket/team/x", "not a hub location"),
])
def test_bad_locations_are_one_line_errors(location: str, message: str) -> None:
    out = run("pull", location)
    assert out.exit_code == 1 and message in out.output and out.output.count("\n") == 1, out.output


def test_missing_repo_and_revision_and_conflicting_revision(folders: dict, online: Path) -> None:
    loc = f"file://{online}/hub/team/r"
    hub.push(folders["v2"], loc)
    out = run("pull", f"file://{online}/hub/team/nope")
    assert out.exit_code == 1 and "no repo team/nope" in out.output
    out = run("pull", f"{loc}@v9")
    assert out.exit_code == 1 and "no revision 'v9' (branches: main)" in out.output
    out = run("pull", f"{loc}@main", "--revision", "exp")
    assert out.exit_code == 1 and "give one" in out.output
    out = run("push", str(online), loc)
    assert out.exit_code == 1 and "not a pretrained folder" in out.output
