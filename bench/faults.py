"""Run each fault of issue 17 for real; print bench/RESULTS.md's table: fault, what the user sees, what was lost.

    OMP_NUM_THREADS=1 .venv/bin/python bench/faults.py [--keep DIR]

Every fault is done to real `genzoo` processes (signals, a second process, SIGKILL, a tmpfs that fills
up, a file-size limit) or with crafted files; "what the user sees" is the command's exit status and
the first line of its message; "lost" is measured: completed steps missing from the newest readable
checkpoint, files left half-written (*.tmp), and whether the run resumes. tests/test_faults.py checks the
same faults with assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from genzoo.core.checkpoint import checkpoint_files, read_checkpoint
from genzoo.core.rundir import RunDir

TINY = ["--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=16", "--set", "train.log_every=2",
        "--set", "train.sample_every=0"]
GENZOO = [sys.executable, "-m", "genzoo"]


def start(run: Path, *extra: str, env: dict[str, str] | None = None,
          preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # started in the background (nohup ... &), SIGINT is ignored
        if preexec is not None:
            preexec()

    return subprocess.Popen([*GENZOO, "train", "dcgan-digits", "--out", str(run), "--steps", "100000", *TINY, *extra],
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=child)


def wait_log(proc: subprocess.Popen, run: Path) -> None:
    while not RunDir(run).read_logs():
        if proc.poll() is not None:
            raise SystemExit(f"training died: {proc.communicate()}")
        time.sleep(0.05)


def cli(*args: str) -> tuple[int, str]:
    done = subprocess.run([*GENZOO, *args], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return done.returncode, (done.stderr.strip() or done.stdout.strip())


def seen(code: int, text: str) -> str:
    lines = [x for x in text.splitlines() if x.strip()]
    first = next((x for x in lines if not x.startswith(("SIGINT:", "SIGTERM:", "SIGUSR1:"))), "")
    return f"exit {code}: {first.strip()[:230]}"


def run_state(run: Path) -> tuple[int, int, int]:
    """(last logged step, newest readable checkpoint's step, leftover *.tmp files)."""
    logged = max((r["step"] for r in RunDir(run).read_logs() if "step" in r), default=0)
    saved = -1
    for path in checkpoint_files(RunDir(run).checkpoint):
        try:
            saved = read_checkpoint(path)[1]["counters"]["step"]
            break
        except Exception:  # a damaged file: the next one counts
            continue
    return logged, saved, len(list(run.glob("**/*.tmp")))


def lost(run: Path, *, resume: bool = True) -> str:
    logged, saved, tmp = run_state(run)
    parts = [f"{logged - saved} completed steps" if logged > saved else "no step",
             f"{tmp} partial files" if tmp else "no partial file"]
    if resume:
        code, text = cli("train", "--resume", str(run), "--steps", str(saved + 2))
        parts.append(f"resumes from step {saved}" if code == 0 else f"resume fails: {text[:80]}")
    return "; ".join(parts)


def signals(root: Path) -> list[tuple[str, str, str]]:
    fake = root / "bin"
    fake.mkdir()
    (fake / "scontrol").write_text(f"#!/bin/sh\necho \"$@\" >> {root / 'scontrol.log'}\n")
    (fake / "scontrol").chmod(0o755)
    slurm = {"PATH": f"{fake}:{os.environ['PATH']}", "SLURM_JOB_ID": "4242"}
    rows = []
    for name, sig, extra, env in (("SIGINT (Ctrl-C)", signal.SIGINT, (), None),
                                  ("SIGTERM (preemption)", signal.SIGTERM, (), None),
                                  ("SIGUSR1 under Slurm, --requeue", signal.SIGUSR1, ("--requeue",), slurm)):
        run = root / f"sig{int(sig)}"
        proc = start(run, *extra, env=env)
        wait_log(proc, run)
        proc.send_signal(sig)
        _, err = proc.communicate()
        text = err + (f" [fake scontrol called with: {(root / 'scontrol.log').read_text().strip()}]"
                      if sig == signal.SIGUSR1 else "")
        rows.append((name, seen(proc.returncode, text), lost(run)))
    run = root / "int2"
    proc = start(run, "--set", "g_width=48", "--set", "d_width=48", "--set", "train.batch_size=256",
                 "--set", "train.log_every=1", "--set", "train.checkpoint_every=1")
    while not RunDir(run).checkpoint.is_file():  # a checkpoint on disk first: the one that must stay intact
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    while "finishing this step" not in proc.stderr.readline():
        pass
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    rows.append(("SIGINT twice (stop at once)", seen(proc.returncode, err),
                 lost(run) + " (at most the step in progress: asked for)"))
    return rows


def lock(root: Path) -> list[tuple[str, str, str]]:
    run = root / "locked"
    proc = start(run, "--set", "train.checkpoint_every=1")
    wait_log(proc, run)
    before = run_state(run)[0]
    code, text = cli("train", "--resume", str(run))
    while run_state(run)[0] == before:
        time.sleep(0.05)
    rows = [("second train/resume on a run dir in use", seen(code, text),
             f"nothing: the running run went on (logged step {before} -> {run_state(run)[0]})")]
    proc.kill()
    proc.wait()
    code, text = cli("train", "--resume", str(run), "--steps", str(run_state(run)[1] + 1))
    rows.append(("resume after the holder was SIGKILLed (stale lock)", seen(code, text.splitlines()[0]),
                 lost(run, resume=False)))
    return rows


def damaged(root: Path) -> list[tuple[str, str, str]]:
    run = root / "damaged"
    cli("train", "dcgan-digits", "--out", str(run), "--steps", "4", *TINY, "--set", "train.checkpoint_every=2")
    last = RunDir(run).checkpoint
    newest, previous = (read_checkpoint(p)[1]["counters"]["step"] for p in checkpoint_files(last))
    data = bytearray(last.read_bytes())
    data[-100] ^= 0xFF
    last.write_bytes(bytes(data))
    code, text = cli("train", "--resume", str(run), "--steps", "6")
    rows = [("newest checkpoint damaged (one byte flipped)", seen(code, text),
             f"{newest - previous} steps (the damaged checkpoint's {newest} -> the previous one's {previous}), "
             f"retrained; the run finished ({'ok' if code == 0 else 'failed'})")]
    empty = root / "empty"
    empty.mkdir()
    shutil.copy(run / "run.json", empty / "run.json")
    code, text = cli("train", "--resume", str(empty))
    rows.append(("--resume on a run dir with no checkpoint", seen(code, text), "nothing"))
    return rows


def disk(root: Path) -> list[tuple[str, str, str]]:
    rows = []
    mount = root / "fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)]).returncode == 0:
        try:
            run = mount / "run"
            cli("train", "dcgan-digits", "--out", str(run), "--steps", "2", *TINY, "--set", "train.checkpoint_every=1",
                "--set", "train.sample_grid=0")
            shutil.rmtree(run / "pretrained")
            filler = mount / "filler"
            with open(filler, "wb") as f, contextlib.suppress(OSError):
                f.write(b"\0" * (shutil.disk_usage(mount).free - 64 * 1024))
            code, text = cli("train", "--resume", str(run), "--steps", "4")
            filler.unlink()
            rows.append(("disk full (8 MiB tmpfs) while writing a checkpoint", seen(code, text), lost(run)))
        finally:
            subprocess.run(["umount", "-l", str(mount)])
    else:
        rows.append(("disk full (tmpfs)", "not run: cannot mount a tmpfs here", "-"))
    run = root / "fsize"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))

    proc = start(run, "--set", "train.checkpoint_every=1", preexec=limit)
    _, err = proc.communicate()
    rows.append(("file-size limit (ulimit -f 512) while writing a checkpoint", seen(proc.returncode, err),
                 lost(run, resume=False) + " (no checkpoint can fit under this limit)"))
    return rows


def hostile(root: Path) -> list[tuple[str, str, str]]:
    rows = []
    code, text = cli("train", "dcgan-digits", "--out", str(root / "boom"), "--steps", "60", *TINY,
                     "--set", "lr_g=1e9", "--set", "lr_d=1e9")
    status = json.loads((root / "boom" / "run.json").read_text())["status"]
    rows.append(("lr 1e9 (losses reach 1e19)", seen(code, text), f"nothing: run.json status {status!r}"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_faults import _png_header_only  # the same crafted file as the test suite

    folder = root / "images"
    folder.mkdir()
    shutil.copy(root / "damaged" / "pretrained" / "samples.png", folder / "ok.png")
    (folder / "bomb.png").write_bytes(_png_header_only(60000, 60000))
    t0 = time.perf_counter()
    code, text = cli("data", "check", str(folder))
    rows.append(("PNG header claiming 60000x60000 (a few bytes)", seen(code, text.splitlines()[-1]),
                 f"nothing: {text.splitlines()[0].split(': ', 1)[1]} ({time.perf_counter() - t0:.1f} s with the "
                 f"process start, never decoded)"))
    hostile_dir = root / "hostile"
    shutil.copytree(root / "damaged" / "pretrained", hostile_dir)
    config = json.loads((hostile_dir / "config.json").read_text())
    config["config"]["g_width"] = 200000
    (hostile_dir / "config.json").write_text(json.dumps(config))
    gib = 4

    def address_space() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (gib << 30, gib << 30))

    done = subprocess.run([*GENZOO, "sample", str(hostile_dir), "--out", str(root / "s.png")], capture_output=True,
                          text=True, preexec_fn=address_space)
    text = done.stderr.strip()
    rows.append(("config.json asking for g_width=200000 (5 TB)", seen(done.returncode, text.split(" (wrong shape")[0]
                                                                        + " ... " + text.rsplit("; ", 1)[-1]),
                 f"nothing: refused under a {gib} GiB address-space limit, "
                 f"{'no traceback' if 'Traceback' not in text else 'A TRACEBACK'}"))
    code, text = cli("pull", "file:///hub/o/../../etc/n")
    rows.append(("hub location with '..'", seen(code, text), "nothing read"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", default=None, help="Keep the runs in this folder (default: a temporary one).")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="genzoo-faults-"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = signals(root) + lock(root) + damaged(root) + disk(root) + hostile(root)
    print("| fault | what the user sees | what was lost |")
    print("|---|---|---|")
    for fault, what, gone in rows:
        print(f"| {fault} | {what.replace('|', '/')} | {gone} |")
    print(f"\n{len(rows)} faults in {time.perf_counter() - t0:.0f} s")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
