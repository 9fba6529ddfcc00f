"""Faults, for real: signals to a real `genzoo train`, a file system that fills up, hostile files.

Each test does what a shared, preemptible machine or a stranger's files do to a run and checks
that nothing the user made is lost: the signals go to real training processes (waiting for their
first log line), the full disk is a real tmpfs mounted for the test (or, where mounting is not
allowed, a process file-size limit, which fails writes with EFBIG instead of ENOSPC), and the
hostile files are crafted byte by byte. bench/faults.py runs the same faults and prints the table
in bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import genzoo
from genzoo.cli.main import cli
from genzoo.core.atomic import DiskFull
from genzoo.core.checkpoint import checkpoint_files, read_checkpoint
from genzoo.core.data.clean import scan_folder
from genzoo.core.data.folder import load_folder
from genzoo.core.divergence import DivergenceTest
from genzoo.core.errors import GenzooError
from genzoo.core.images import save_grid
from genzoo.core.interrupt import TrainingStopped
from genzoo.core.pretrained import save_pretrained
from genzoo.core.rundir import RunDir
from genzoo.core.tensorfile import load_tensors
from genzoo.hub import pull
from genzoo.hub.directory import MANIFEST, snapshot_id
from genzoo.hub.location import parse_location

pytestmark = pytest.mark.faults

TINY = ["--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=16", "--set", "train.log_every=2",
        "--set", "train.sample_every=0"]
TINY_CONFIG = {"g_width": 8, "d_width": 8}
TINY_TRAIN = {"batch_size": 16, "log_every": 2, "sample_every": 0}


def _train_process(run: Path, *extra: str, env: dict[str, str] | None = None,
                   preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "genzoo", "train", "dcgan-digits", "--out", str(run), "--steps", "100000", *TINY,
           *extra]

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a test run in the background has SIGINT ignored
        if preexec is not None:
            preexec()

    return subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=child)


def _wait_for_log(proc: subprocess.Popen, run: Path, rows: int = 1, timeout: float = 60) -> None:
    """Until the run has logged ``rows`` intervals: training has really started."""
    deadline = time.monotonic() + timeout
    while len(RunDir(run).read_logs()) < rows:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"training never logged:\n{out}\n{err}")
        time.sleep(0.05)


def _checkpoint_step(path: Path) -> int:
    return read_checkpoint(path)[1]["counters"]["step"]


# -- signals -----------------------------------------------------------------------------------


def _signal_four(root: Path) -> dict:
    """Four real training processes at once: SIGINT, SIGTERM, SIGUSR1 (Slurm requeue through a fake scontrol
    on PATH) and SIGINT twice (to one whose steps take long enough for the second to land inside one)."""
    fake = root / "bin"
    fake.mkdir()
    (fake / "scontrol").write_text(f"#!/bin/sh\necho \"$@\" >> {root / 'scontrol.log'}\n")
    (fake / "scontrol").chmod(0o755)
    slurm = {"PATH": f"{fake}:{os.environ['PATH']}", "SLURM_JOB_ID": "4242"}
    procs = {
        "int": _train_process(root / "int"),
        "term": _train_process(root / "term"),
        "usr1": _train_process(root / "usr1", "--requeue", env=slurm),
        "int2": _train_process(root / "int2", "--set", "g_width=48", "--set", "d_width=48", "--set",
                               "train.batch_size=256", "--set", "train.log_every=1"),
    }
    for name, proc in procs.items():
        _wait_for_log(proc, root / name)
    procs["int"].send_signal(signal.SIGINT)
    procs["term"].send_signal(signal.SIGTERM)
    procs["usr1"].send_signal(signal.SIGUSR1)
    procs["int2"].send_signal(signal.SIGINT)
    while "finishing this step" not in (line := procs["int2"].stderr.readline()):  # its handler ran: now the second
        if not line:  # it ended without its handler's line (EOF): the checks below say how, rather than hang here
            break
    procs["int2"].send_signal(signal.SIGINT)
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        done[name] = {"rc": proc.returncode, "out": out, "err": err, "run": root / name}
    done["scontrol"] = (root / "scontrol.log").read_text() if (root / "scontrol.log").exists() else ""
    return done


def _stopped_gracefully(r: dict, code: int, signame: str) -> int:
    """Checks of one process stopped by one signal; returns the step its checkpoint holds."""
    assert r["rc"] == code, r["err"]
    run = RunDir(r["run"])
    step = _checkpoint_step(run.checkpoint)
    assert f"stopped by {signame} after step {step}; a checkpoint of that step was written" in r["err"]
    assert "Traceback" not in r["err"]
    assert run.read_logs()[-1]["step"] == step  # the log is flushed up to the checkpoint: no completed step lost
    record = run.read()
    assert record["status"] == "stopped" and record["status_detail"]["step"] == step
    assert not list(run.path.glob("**/*.tmp"))
    return step


def test_signals_finish_the_step_checkpoint_and_exit_with_their_status(tmp_path: Path) -> None:
    """One test for the four processes, so that a parallel run (pytest -n) starts them once."""
    done = _signal_four(tmp_path)
    _stopped_gracefully(done["int"], 130, "SIGINT")
    _stopped_gracefully(done["usr1"], 138, "SIGUSR1")
    # SIGUSR1 under Slurm with --requeue: the job is requeued after the checkpoint, through scontrol
    assert done["scontrol"].split() == ["requeue", "4242"]
    assert "Slurm job 4242 was requeued (scontrol requeue 4242)" in done["usr1"]["err"]
    # a second SIGINT stops at once; whatever checkpoint was written verifies, nothing half-written stays
    r = done["int2"]
    assert r["rc"] == 130, r["err"]
    assert "stopped at once by a second signal (SIGINT)" in r["err"] and "Traceback" not in r["err"]
    for path in checkpoint_files(RunDir(r["run"]).checkpoint):
        read_checkpoint(path)
    assert not list(r["run"].glob("**/*.tmp"))
    # SIGTERM, then --resume: it continues from the stopped step, redoing nothing
    step = _stopped_gracefully(done["term"], 143, "SIGTERM")
    result = genzoo.train(resume=done["term"]["run"], steps=step + 2, progress=False)
    assert result.step == step + 2
    steps = [row["step"] for row in RunDir(done["term"]["run"]).read_logs()]
    assert step in steps and steps[-1] == step + 2 and steps == sorted(set(steps))
    assert RunDir(done["term"]["run"]).read()["status"] == "finished"


def test_a_locked_run_dir_is_refused_and_a_dead_holders_lock_taken_over(four_steps: Path, tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    run = RunDir(tmp_path / "run")
    shutil.copytree(four_steps, run.path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from genzoo.core.runlock import RunLock; "
         "lock = RunLock(sys.argv[1], 'genzoo train dcgan-digits (the holder)').acquire(); "
         "print('locked', flush=True); time.sleep(120)", str(run.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(GenzooError, match=rf"in use by pid {holder.pid} on host .*command: genzoo train "
                                              rf"dcgan-digits \(the holder\)"):
            genzoo.train(resume=run.path, steps=5, progress=False)
    finally:
        holder.kill()  # SIGKILL: the holder dies without releasing anything
        holder.wait()
    assert (run.path / ".genzoo-lock.json").is_file()
    with caplog.at_level(logging.WARNING, logger="genzoo.train"):
        result = genzoo.train(resume=run.path, steps=5, progress=False)
    assert result.step == 5
    assert any(f"locked by pid {holder.pid}" in m and "no longer running; taking it over" in m
               for m in caplog.messages)
    assert not (run.path / ".genzoo-lock.json").exists()  # released at the end


@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGUSR2], ids=["usr1", "submitit-usr2"])
def test_the_handler_replaced_during_training_runs_after_the_checkpoint(tmp_path: Path, signum: int,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a framework that owns the preemption signal sees (submitit: SIGUSR2 inside its jobs, where it
    sets SUBMITIT_EXECUTOR): its handler, called once genzoo's checkpoint is on disk."""
    if signum == signal.SIGUSR2:
        monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    seen: list[tuple[int, int]] = []
    run = RunDir(tmp_path / "run")

    def framework_handler(signum: int, frame: object) -> None:
        seen.append((signum, _checkpoint_step(run.checkpoint)))

    def send_when_logging() -> None:
        while not run.read_logs():
            time.sleep(0.02)
        os.kill(os.getpid(), signum)

    old = signal.signal(signum, framework_handler)
    try:
        threading.Thread(target=send_when_logging, daemon=True).start()
        with pytest.raises(TrainingStopped) as stop:
            genzoo.train("dcgan-digits", "digits", steps=100000, out=run.path, config=TINY_CONFIG, train=TINY_TRAIN,
                         progress=False)
    finally:
        signal.signal(signum, old)
    assert stop.value.exit_code == 128 + signum and seen == [(signum, stop.value.step)]
    assert signal.getsignal(signum) is old


# -- checkpoints -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("ckpt") / "run"
    genzoo.train("dcgan-digits", "digits", steps=4, out=run, config=TINY_CONFIG,
                 train={**TINY_TRAIN, "checkpoint_every": 1}, progress=False)
    return run


def test_the_last_k_checkpoints_are_kept(four_steps: Path) -> None:
    files = checkpoint_files(RunDir(four_steps).checkpoint)
    assert [p.name for p in files] == ["last.safetensors", "step-0000003.safetensors"]
    assert [_checkpoint_step(p) for p in files] == [4, 3]


@pytest.mark.parametrize("damage", ["flip a byte", "cut short"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(four_steps: Path, tmp_path: Path, damage: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    run = tmp_path / "run"
    shutil.copytree(four_steps, run)
    last = RunDir(run).checkpoint
    data = bytearray(last.read_bytes())
    if damage == "flip a byte":
        data[-100] ^= 0xFF  # inside the tensor data: the header parses, the checksum does not match
    else:
        data = data[: len(data) // 2]
    last.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="genzoo.train"):
        result = genzoo.train(resume=run, steps=5, progress=False)
    assert result.step == 5
    warning = next(m for m in caplog.messages if "damaged checkpoint" in m)
    assert str(last) in warning and "step-0000003.safetensors" in warning
    assert [row["step"] for row in RunDir(run).read_logs()][-1] == 5
    # the damaged file left the rotation: the kept ones are the newest distinct steps, each verifying
    assert [_checkpoint_step(p) for p in checkpoint_files(last)] == [5, 4]


def test_every_checkpoint_damaged_and_no_checkpoint_at_all_are_one_line_each(four_steps: Path,
                                                                            tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(four_steps, run)
    for path in checkpoint_files(RunDir(run).checkpoint):
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(GenzooError, match="every checkpoint is damaged"):
        genzoo.train(resume=run, steps=5, progress=False)
    shutil.rmtree(run / "checkpoints")
    result = CliRunner().invoke(cli, ["train", "--resume", str(run)])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "holds no checkpoint" in result.output


# -- divergence --------------------------------------------------------------------------------


def test_an_exploding_run_ends_as_diverged_not_as_success(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "dcgan-digits", "--out", str(run), "--steps", "60", *TINY,
                                      "--set", "lr_g=1e9", "--set", "lr_d=1e9"])
    assert result.exit_code == 1
    assert "training diverged at step" in result.output and "phase '" in result.output
    assert "term 'loss'" in result.output and "trained" not in result.output
    record = RunDir(run).read()
    assert record["status"] == "diverged" and record["status_detail"]["step"] < 60
    assert not RunDir(run).is_finished()  # no pretrained folder of noise


def test_the_growth_test_flags_a_term_far_above_its_running_median() -> None:
    test = DivergenceTest(factor=100, ceiling=0, patience=2)
    assert test.check({"g.loss": 0.7, "d.loss": -0.5}, 2, final=False) == ""
    for step, value in ((4, 0.8), (6, 0.6), (8, 0.7)):
        assert test.check({"g.loss": value, "d.loss": -0.5}, step, final=False) == ""
    assert test.check({"g.loss": 500.0, "d.loss": -0.5}, 10, final=False) == ""  # one interval: patience 2
    message = test.check({"g.loss": -900.0, "d.loss": -0.5}, 12, final=False)
    assert message.startswith("training diverged at step 12 (phase 'g', term 'loss')") and "median 0.7" in message
    fresh = DivergenceTest(factor=100, ceiling=0, patience=5)
    for step in (2, 4, 6):
        fresh.check({"g.loss": 1.0}, step, final=False)
    assert fresh.check({"g.loss": 1e4}, 8, final=True)  # the last interval of a run does not wait


@pytest.mark.parametrize("command", [["train", "dcgan-digits", "--steps", "1"], ["bench", "tiny"]])
@pytest.mark.parametrize("place", ["under-a-file", "proc"])
def test_an_out_that_cannot_be_written_is_one_line_naming_why(command: list[str], place: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A file where a folder must go, or a place where no file can be created even by root (/proc):
    one error naming the path and the reason, never a traceback, and the user's file untouched."""
    if place == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    catalog = tmp_path / "suites.toml"
    catalog.write_text('[suites.tiny]\ndata = "digits"\nmetrics = ["bpd"]\nn = 16\nbudget = { steps = 1 }\n'
                       'models = ["dcgan-digits"]\n', encoding="utf-8")
    monkeypatch.setenv("GENZOO_CATALOG", str(catalog))
    (tmp_path / "notes").write_text("a user's file")
    out, why = ((tmp_path / "notes" / "run", "notes is a file, not a folder") if place == "under-a-file"
                else (Path("/proc/genzoo-run"), "/proc is not writable"))
    result = CliRunner().invoke(cli, [*command, "--out", str(out)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "cannot write" in result.output and why in result.output, result.output
    assert (tmp_path / "notes").read_text() == "a user's file"


def test_bench_shows_a_diverged_cell_as_diverged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "suites.toml"
    catalog.write_text("""
[suites.boom]
data = "digits"
metrics = ["bpd"]
n = 16
[suites.boom.models.dcgan]
model = "dcgan-digits"
config = { g_width = 8, d_width = 8, lr_g = 1e9, lr_d = 1e9 }
budget = { steps = 40 }
""", encoding="utf-8")
    monkeypatch.setenv("GENZOO_CATALOG", str(catalog))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["bench", "boom", "--out", str(out), "--seed", "7"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "DIVERGED at step" in result.output
    summary = json.loads((out / "results.json").read_text())
    (cell,) = summary["cells"]
    assert cell["status"] == "diverged" and cell["seed"] == 7
    assert summary["models"][0]["scores"]["bpd"] == {"diverged": "1 of 1 seeds"}
    assert "| diverged (1 of 1 seeds) |" in (out / "results.md").read_text()
    assert "--seed 7" in summary["command"]


# -- seeds -------------------------------------------------------------------------------------


def test_train_seed_is_train_seed_and_a_conflict_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["train", "dcgan-digits", "--out", str(tmp_path / "a"), "--seed", "3",
                              "--set", "train.seed=4"])
    assert bad.exit_code == 1 and "--seed 3 and --set train.seed=4 disagree" in bad.output
    ok = runner.invoke(cli, ["train", "dcgan-digits", "--out", str(tmp_path / "b"), "--steps", "1", *TINY,
                             "--seed", "3"])
    assert ok.exit_code == 0, ok.output
    record = RunDir(tmp_path / "b").read()
    assert record["train"]["seed"] == 3 and "--set train.seed=3" in record["command"]


# -- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Path:
    """A real 8 MiB tmpfs, mounted for this test and unmounted after it."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:  # not root, or no CAP_SYS_ADMIN (a container): the EFBIG test below still runs
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system holding ``folder`` until ``leave`` bytes are free."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free - leave
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(free, 0))
    return filler


def test_disk_full_during_a_checkpoint_is_one_error_and_loses_nothing(small_fs: Path) -> None:
    run = small_fs / "run"
    genzoo.train("dcgan-digits", "digits", steps=2, out=run, config=TINY_CONFIG,
                 train={**TINY_TRAIN, "checkpoint_every": 1, "sample_grid": 0}, progress=False)
    shutil.rmtree(run / "pretrained")
    before = {p.name: p.read_bytes() for p in checkpoint_files(RunDir(run).checkpoint)}
    logs_before = (run / "metrics.jsonl").read_bytes()
    _fill(small_fs, leave=64 * 1024)
    with pytest.raises(DiskFull, match=r"cannot write .*checkpoints/last\.safetensors: no space left on device"):
        genzoo.train(resume=run, steps=4, progress=False)
    assert {p.name: p.read_bytes() for p in checkpoint_files(RunDir(run).checkpoint)} == before
    assert _checkpoint_step(RunDir(run).checkpoint) == 2
    assert not [p for p in small_fs.rglob("*") if p.name.endswith(".tmp")]
    logs = (run / "metrics.jsonl").read_bytes()
    assert logs.startswith(logs_before) and logs.endswith(b"\n")  # no half line
    assert RunDir(run).read()["status"] == "failed"


def test_disk_full_while_writing_a_grid_or_a_pretrained_folder(small_fs: Path) -> None:
    model = genzoo.create_model("dcgan-digits", g_width=8, d_width=8)
    save_pretrained(model, small_fs / "pretrained")
    log = RunDir(small_fs)
    log.append_log({"step": 1, "note": "a row that fits"})
    kept = {p.name: p.read_bytes() for p in (small_fs / "pretrained").iterdir()}
    _fill(small_fs, leave=16 * 1024)
    with pytest.raises(DiskFull, match=r"cannot write .*/pretrained: no space left on device"):
        save_pretrained(model, small_fs / "pretrained")
    assert {p.name: p.read_bytes() for p in (small_fs / "pretrained").iterdir()} == kept
    with pytest.raises(DiskFull, match=r"cannot write .*grid\.png: no space left on device"):
        save_grid(torch.rand(256, 3, 64, 64), small_fs / "grid.png")
    assert not (small_fs / "grid.png").exists()
    rows = log.metrics.read_bytes()
    with pytest.raises(DiskFull, match=r"cannot write .*metrics\.jsonl: no space left on device"):
        log.append_log({"step": 2, "note": "x" * (64 * 1024)})  # a row larger than the space left
    assert log.metrics.read_bytes() == rows  # cut back off: no half line
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler.bin", "metrics.jsonl", "pretrained"]


def test_a_file_size_limit_during_a_checkpoint_is_one_error(tmp_path: Path) -> None:
    """The case of a quota or a `ulimit -f`: EFBIG (Python ignores SIGXFSZ), where mounting is not needed. The
    limit is this process's own soft limit, lowered around one command and put back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, hard))
    try:
        result = CliRunner().invoke(cli, ["train", "dcgan-digits", "--out", str(tmp_path / "run"), "--steps", "3",
                                          *TINY, "--set", "train.checkpoint_every=1"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write") and "last.safetensors: file too large" in result.output
    assert result.output.count("\n") == 1 and not list((tmp_path / "run").glob("**/*.tmp"))
    assert RunDir(tmp_path / "run").read()["status"] == "failed"


# -- hostile files -----------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (its pixel data is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_an_image_claiming_an_absurd_size_is_reported_and_skipped_never_decoded(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        save_grid(torch.rand(1, 3, 8, 8) * 2 - 1, folder / f"ok-{i}.png", 1)
    (folder / "bomb.png").write_bytes(_png_header_only(60000, 60000))
    (folder / "big.png").write_bytes(_png_header_only(10000, 10000))  # 100 MP: PIL only warns at this size
    t0 = time.perf_counter()
    report = scan_folder(folder)
    assert sorted(p.name for p, _ in report.problems["too_large"]) == ["big.png", "bomb.png"]
    assert time.perf_counter() - t0 < 5
    images = load_folder(folder, image_size=8, channels=3, use_cache=False)
    assert len(images) == 3 and images.report.counts["too_large"] == 2
    result = CliRunner().invoke(cli, ["data", "check", str(folder)])
    assert "too-large (2):" in result.output and "bomb.png: its header declares 60000x60000 pixels" in result.output


def test_a_config_asking_for_a_far_larger_network_is_refused_before_allocating(four_steps: Path,
                                                                               tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    shutil.copytree(four_steps / "pretrained", folder)
    config = json.loads((folder / "config.json").read_text())
    config["config"]["g_width"] = 4000  # about 2 GB of generator, were it built
    (folder / "config.json").write_text(json.dumps(config))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(GenzooError) as refused:
        genzoo.create_model(str(folder))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024  # KiB: nothing near 2 GB
    message = str(refused.value)
    assert "model.safetensors does not match the model's config (wrong shape: generator.net.0.weight" in message
    assert "so nothing was allocated" in message
    config["config"]["g_width"] = 200000  # 5 TB
    (folder / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(cli, ["sample", str(folder), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 1 and "nothing was allocated" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("location", [
    "hf:///etc/passwd", "hf://a/b@-rf", "hf://a/b@.hidden", "hf://a/b@main.lock", "hf://a/b@" + "x" * 300,
    "file:///hub/o/../../etc/n", "file:///hub/../o/n", "hf://../x",
])
def test_hub_locations_that_try_to_escape_are_refused(location: str) -> None:
    with pytest.raises(GenzooError):
        parse_location(location)


def test_a_hub_snapshot_listing_a_file_outside_itself_never_writes_it(four_steps: Path, online: Path) -> None:
    hub = online / "hub"
    snap_files = {}
    src = four_steps / "pretrained"
    names = {"config.json": "config.json", "model.safetensors": "model.safetensors",
             "../../../escaped.json": "config.json"}
    for listed, real in names.items():
        data = (src / real).read_bytes()
        snap_files[listed] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    sid = snapshot_id(snap_files)
    snap = hub / "o" / "n" / "snapshots" / sid
    snap.mkdir(parents=True)
    for listed, real in names.items():
        if "/" not in listed:
            shutil.copy(src / real, snap / listed)
    (hub / "o" / "n" / "escaped.json").write_bytes((src / "config.json").read_bytes())  # where ../ would read
    (snap / MANIFEST).write_text(json.dumps({"format": 1, "files": snap_files}))
    (hub / "o" / "n" / "refs").mkdir()
    (hub / "o" / "n" / "refs" / "main").write_text(sid + "\n")
    folder = pull(f"file://{hub}/o/n")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["config.json",
                                                                                     "model.safetensors"]
    assert not list((online / "cache").rglob("escaped.json"))
    assert load_tensors(folder / "model.safetensors")[0]
