"""Training on two processes (torchrun, gloo, CPU) trains what one process trains.

Every test here runs real `genzoo train --nproc 2` jobs (torch.distributed.run with two
workers) on the digits set, against one-process runs of the same recipe and global batch.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import genzoo
from genzoo.core.checkpoint import read_checkpoint
from genzoo.core.distributed import World
from genzoo.core.errors import ConfigError

pytestmark = pytest.mark.slow

TINY = {
    "dcgan-mnist": ["--set", "g_width=8", "--set", "d_width=8"],
    "wgan-gp-mnist": ["--set", "g_width=8", "--set", "d_width=8", "--set", "n_critic=2"],
    "vae-mnist": ["--set", "width=8"],
}
RECIPE = ["--set", "train.batch_size=16", "--set", "train.log_every=1", "--set", "train.sample_grid=0"]


def _config(flags: list[str]) -> dict[str, object]:
    """The --set pairs of TINY as a config dict for the in-process API."""
    pairs = [flags[i + 1].split("=", 1) for i in range(0, len(flags), 2)]
    return {k: int(v) for k, v in pairs}


ENV = {"OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
"""One thread per rank; and a rank that dies of a fatal signal prints every Python thread's stack, which
:func:`_why` keeps in the failure message (a rank aborted in gloo a few times beside the full suite: see the
Makefile)."""


def _why(output: str) -> str:
    """The part of a job's output that says why it failed: its tail, after a fatal error's thread stacks."""
    start = output.find("Fatal Python error")
    if start < 0:
        return output[-3000:]
    stacks = output[start:start + 6000].split("\nExtension modules:")[0]  # the loaded C modules: noise here
    return f"{stacks}\n...\n{output[-1500:]}"


def _genzoo(*args: str, nproc: int | None = None, timeout: float = 240,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "genzoo", "train", *args, *(["--nproc", str(nproc)] if nproc else [])]
    environment = {**os.environ, **ENV, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=environment)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    out = load_file(run / "pretrained" / "model.safetensors")
    ema = run / "pretrained" / "model.ema.safetensors"
    if ema.is_file():
        out.update({f"ema.{k}": v for k, v in load_file(ema).items()})
    return out


def _assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")


def _steps_logged(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
            if "g.loss" in line or "vae.loss" in line or "d.loss" in line]


@pytest.mark.parametrize("name", sorted(TINY))
def test_two_processes_train_what_one_does(name: str, tmp_path: Path) -> None:
    """dcgan (batch norm in both nets), wgan-gp (two optimisers, critic repeats, gradient penalty) and the
    VAE: after 3 steps, 2 ranks x 8 images give the weights of 1 process x 16, to float rounding."""
    one = genzoo.train(name, "digits", steps=3, out=tmp_path / "one", config=_config(TINY[name]),
                       train={"batch_size": 16, "log_every": 1, "sample_grid": 0}, progress=False)
    two = _genzoo(name, "--data", "digits", "--steps", "3", "--out", str(tmp_path / "two"), *TINY[name], *RECIPE,
                  nproc=2)
    assert two.returncode == 0, _why(two.stderr)
    assert "trained 3 steps" in two.stdout and two.stdout.count("trained 3 steps") == 1  # rank 0 reports
    _assert_close(_weights(one.run_dir), _weights(tmp_path / "two"))
    # rank 0 logs the global batch's means: the one-process run's losses
    logs_one = [json.loads(x) for x in (one.run_dir / "metrics.jsonl").read_text().splitlines()]
    logs_two = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in logs_two] == [e["step"] for e in logs_one]
    for a, b in zip(logs_one, logs_two):
        for key in a:
            if key.endswith("loss"):
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key


def test_lazy_regularisers_that_differentiate_through_gradients_train_under_ddp(tmp_path: Path) -> None:
    """StyleGAN2's R1 and path-length phases (double backward, every 2nd step here) on two processes."""
    out = _genzoo("stylegan2-mnist", "--data", "digits", "--steps", "4", "--out", str(tmp_path / "sg"),
                  "--set", "d_reg_every=2", "--set", "g_reg_every=2", "--set", "train.batch_size=8",
                  "--set", "train.log_every=1", "--set", "train.sample_grid=0", nproc=2)
    assert out.returncode == 0, _why(out.stderr)
    logs = [json.loads(x) for x in (tmp_path / "sg" / "metrics.jsonl").read_text().splitlines()]
    assert {"d_reg.loss", "g_reg.loss"} <= {key for entry in logs for key in entry}  # the lazy phases ran
    assert all(math.isfinite(v) for entry in logs for v in entry.values())


def test_a_checkpoint_of_two_processes_resumes_on_one(tmp_path: Path) -> None:
    """2 processes for 2 steps, then --resume on 1 process to 4: the 4-step one-process run."""
    flags = [*TINY["dcgan-mnist"], *RECIPE]
    (tmp := tmp_path / "tmp").mkdir()
    first = _genzoo("dcgan-mnist", "--data", "digits", "--steps", "2", "--out", str(tmp_path / "split"), *flags,
                    nproc=2, env={"TMPDIR": str(tmp)})
    assert first.returncode == 0, _why(first.stderr)
    assert not list(tmp.glob("torchelastic_*"))  # torchrun's own log folders, which it never removes
    genzoo.train(resume=tmp_path / "split", steps=4, progress=False)
    genzoo.train("dcgan-mnist", "digits", steps=4, out=tmp_path / "one", config=_config(TINY["dcgan-mnist"]),
                 train={"batch_size": 16, "log_every": 1, "sample_grid": 0}, progress=False)
    _assert_close(_weights(tmp_path / "one"), _weights(tmp_path / "split"))


def test_a_batch_that_does_not_divide_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"train.batch_size=15 is the global batch and must divide evenly over 2 "
                                          r"processes; use 14 or 16"):
        World(rank=0, size=2).check_batch(15)
    World(rank=0, size=2).check_batch(16)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.is_file() else []


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [int(e.split(b"=", 1)[1]) for e in env if e.startswith(b"RANK=")]
    return ranks[0] if ranks else None


def test_sigkill_on_one_rank_ends_the_job_and_the_last_checkpoint_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "genzoo", "train", "dcgan-mnist", "--data", "digits", "--steps", "100000",
           "--out", str(run), *TINY["dcgan-mnist"], *RECIPE, "--set", "train.checkpoint_every=2", "--nproc", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **ENV})
    try:
        deadline = time.monotonic() + 120
        while not (run / "metrics.jsonl").is_file() or len(_steps_logged(run)) < 5:
            assert proc.poll() is None, _why(proc.stdout.read())
            assert time.monotonic() < deadline, "the job never reached step 5"
            time.sleep(0.2)
        rank1 = [pid for pid in _children(proc.pid) if _rank_of(pid) == 1]
        assert rank1, "no rank-1 worker found under the launcher"
        os.kill(rank1[0], signal.SIGKILL)
        output, _ = proc.communicate(timeout=60)  # the launcher notices and ends the job: no hang
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "rank 1 of 2" in output and "was killed by SIGKILL" in output
    logged = max(_steps_logged(run))
    result = genzoo.train(resume=run, steps=logged + 2, progress=False)
    assert result.step == logged + 2


FAULTY = '''
    """A dcgan whose second rank fails on its third discriminator update: a real plugin, found by entry point."""
    import torch.distributed as dist

    from genzoo import ModelSpec, Preprocessing, hookimpl
    from genzoo.plugins.dcgan.model import DCGAN


    class Faulty(DCGAN):
        calls = 0

        def d_loss(self, batch):
            Faulty.calls += 1
            if dist.is_initialized() and dist.get_rank() == 1 and Faulty.calls == 3:
                raise RuntimeError("rank 1 lost its data shard")
            return super().d_loss(batch)


    @hookimpl
    def register_models(register):
        register(ModelSpec(name="faulty", family="faulty", config="genzoo.plugins.dcgan.config:DCGANConfig",
                           builder="faulty_plugin:Faulty", capabilities=("sample",),
                           preprocessing=Preprocessing(normalize="minus_one_one"), data="digits"))
'''


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "faulty_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "faulty_plugin.py").write_text(textwrap.dedent(FAULTY))
    (site / "faulty_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: faulty-plugin\n"
                                                                    "Version: 0.1\n")
    (site / "faulty_plugin-0.1.dist-info" / "entry_points.txt").write_text("[genzoo]\nfaulty = faulty_plugin\n")
    (tmp := tmp_path / "tmp").mkdir()
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), "GENZOO_DIST_TIMEOUT": "60",
           "TMPDIR": str(tmp)}
    start = time.monotonic()
    out = _genzoo("faulty", "--steps", "50", "--out", str(tmp_path / "run"), *TINY["dcgan-mnist"], *RECIPE,
                  nproc=2, env=env, timeout=120)
    assert out.returncode != 0
    assert "rank 1 lost its data shard" in out.stderr
    assert "rank 1 of 2" in out.stderr and "exited with status 1" in out.stderr
    assert time.monotonic() - start < 100  # ended by the launcher, not by a collective's timeout
    assert not list(tmp.glob("torchelastic_*"))  # torchrun's own log folders, which it never removes


@pytest.mark.parametrize(("signum", "to_group"), [(signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["sigterm-to-launcher", "ctrl-c-to-process-group"])
def test_a_signal_stops_every_rank_on_one_step_with_a_checkpoint(signum: int, to_group: bool, tmp_path: Path) -> None:
    """Preemption (SIGTERM to torchrun, which passes it on) or Ctrl-C (SIGINT to the whole process group,
    so each rank gets it twice: from the terminal and from torchrun, which is still one request): both
    ranks agree on the step to stop at, rank 0 writes that step's checkpoint, the job exits 128 + signal,
    and --resume continues from that step."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "genzoo", "train", "dcgan-mnist", "--data", "digits", "--steps", "100000",
           "--out", str(run), *TINY["dcgan-mnist"], *RECIPE, "--set", "train.checkpoint_every=1000", "--nproc", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **ENV}, start_new_session=to_group)
    try:
        deadline = time.monotonic() + 120
        while not (run / "metrics.jsonl").is_file() or len(_steps_logged(run)) < 3:
            assert proc.poll() is None, _why(proc.stdout.read())
            assert time.monotonic() < deadline, "the job never reached step 3"
            time.sleep(0.2)
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, _why(output)
    assert f"stopped by {signal.Signals(signum).name}" in output
    assert "second signal" not in output
    stopped_at = max(_steps_logged(run))
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"
    _, header = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert header["counters"]["step"] == stopped_at  # the step every rank stopped on, not an older one
    result = genzoo.train(resume=run, steps=stopped_at + 1, progress=False)
    assert result.step == stopped_at + 1
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == stopped_at + 1
