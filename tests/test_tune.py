"""`genzoo tune`: real Optuna studies of a tiny VAE on scikit-learn's digits, scored by bits per dimension.

Grid, random and TPE studies on SQLite (pruning observed on the grid); the search space refused up
front; `tune show`'s table, PNG plots and page; a missing extra named in one line; and two `genzoo
tune` processes sharing one study on a real PostgreSQL server this file starts (initdb in a temporary
folder, a free port), one of them SIGKILLed mid-trial and started again: the study ends with its N
trials, none run twice, the killed one retried.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from genzoo.cli import cli

optuna = pytest.importorskip("optuna")  # the test extra installs it
TrialState = optuna.trial.TrialState

TINY = ["vae-mnist", "--data", "digits", "--metric", "bpd", "--eval-n", "64", "--set", "width=8",
        "--set", "train.batch_size=16", "--set", "train.sample_every=0", "--set", "train.checkpoint_every=0",
        "--set", "train.sample_grid=0"]


def _tune(*args: str) -> object:
    return CliRunner().invoke(cli, ["tune", *args], catch_exceptions=False)


def _study(out: Path, name: str = "vae-mnist") -> object:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


def _states(study: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def test_grid_study_prunes_and_keeps_the_best_weights(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    r = _tune(*TINY, "--space", "lr = [1e-4, 3e-3]", "--space", "latent_dim = [4, 8]", "--sampler", "grid",
              "--steps", "20", "--eval-every", "5", "--pruner", "median:1", "--out", str(out))
    assert r.exit_code == 0, r.output
    study = _study(out)
    trials = study.get_trials()
    assert len(trials) == 4 and _states(study).get("FAIL", 0) == 0
    assert sorted((t.params["lr"], t.params["latent_dim"]) for t in trials) == \
        [(1e-4, 4), (1e-4, 8), (3e-3, 4), (3e-3, 8)]  # every grid point, once
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned, r.output  # lr 1e-4 learns little in 5 steps: worse than the median, so it stops early
    for t in pruned:
        assert t.user_attrs["pruned_at"] < 20 and not (out / f"trial-{t.number:04d}" / "pretrained").exists()
        assert f"trial {t.number}: pruned at step" in r.output
    for t in trials:  # every trial kept its run dir; the score's protocol is stamped on it
        assert (out / f"trial-{t.number:04d}" / "run.json").is_file()
        assert t.user_attrs["protocol"]["metric"] == "bpd" and t.user_attrs["protocol"]["n_real"] == 64
        assert sorted(t.intermediate_values)[0] == 5
    best = study.best_trial
    assert best.state.name == "COMPLETE" and best.params["lr"] == 3e-3
    assert (out / "best").resolve() == (out / f"trial-{best.number:04d}" / "pretrained").resolve()
    assert (out / "best" / "config.json").is_file()
    assert study.user_attrs["best"]["trial"] == best.number


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_random_and_tpe_studies_continue_where_they_stopped(sampler: str, tmp_path: Path) -> None:
    out = tmp_path / sampler
    args = [*TINY, "--space", "lr = { low = 1e-4, high = 1e-2, log = true }", "--space", "latent_dim = [4, 8]",
            "--sampler", sampler, "--steps", "10", "--seed", "3", "--out", str(out)]
    first = _tune(*args, "--trials", "2")
    assert first.exit_code == 0, first.output
    assert _states(_study(out)) == {"COMPLETE": 2}
    again = _tune(*args, "--trials", "3")  # the same study, one more trial: the two it had are kept
    assert again.exit_code == 0, again.output
    assert "2 of 3 trials finished" in again.output
    trials = _study(out).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert all(1e-4 <= t.params["lr"] <= 1e-2 and t.params["latent_dim"] in (4, 8) for t in trials)
    assert len({t.params["lr"] for t in trials}) == 3
    assert sorted(p.name for p in out.glob("trial-*")) == ["trial-0000", "trial-0001", "trial-0002"]
    done = _tune(*args, "--trials", "3")
    assert done.exit_code == 0 and "3 of 3 trials finished" in done.output and "trial 3" not in done.output
    if sampler == "tpe":
        show = CliRunner().invoke(cli, ["tune", "show", "--storage", f"sqlite:///{out / 'study.db'}", "--study",
                                        "vae-mnist", "--out", str(tmp_path / "show")], catch_exceptions=False)
        assert show.exit_code == 0, show.output
        assert "rank" in show.output and "bpd" in show.output and "latent_dim" in show.output
        for name in ("history", "importance"):
            with Image.open(tmp_path / "show" / f"{name}.png") as im:
                assert im.size[0] > 100 and im.size[1] > 100
        page = (tmp_path / "show" / "report.html").read_text()
        assert page.count("data:image/png;base64,") == 2 and "table class='results'" in page
        assert page.count("<tr><td") == 3  # the three completed trials, best first


def test_show_says_why_importance_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "one"
    assert _tune(*TINY, "--space", "latent_dim = [4]", "--sampler", "random", "--trials", "1", "--steps", "5",
                 "--out", str(out)).exit_code == 0
    show = CliRunner().invoke(cli, ["tune", "show", "--storage", f"sqlite:///{out / 'study.db'}", "--study",
                                    "vae-mnist", "--out", str(tmp_path / "show")], catch_exceptions=False)
    assert show.exit_code == 0, show.output
    assert "no parameter importance: it needs at least 2 completed trials" in show.output
    assert (tmp_path / "show" / "history.png").is_file() and not (tmp_path / "show" / "importance.png").exists()
    missing = CliRunner().invoke(cli, ["tune", "show", "--storage", f"sqlite:///{out / 'study.db'}", "--study",
                                       "vae-mnst"])
    assert missing.exit_code == 1 and "holds no study 'vae-mnst'" in missing.output
    assert "Did you mean: vae-mnist" in missing.output
    typo = CliRunner().invoke(cli, ["tune", "show", "--storage", f"sqlite:///{tmp_path / 'typo.db'}", "--study", "x"])
    assert typo.exit_code == 1 and "no such file" in typo.output
    assert not (tmp_path / "typo.db").exists()  # showing a study never creates an empty database


@pytest.mark.parametrize(("space", "message"), [
    ("latnt_dim = [4, 8]", "latnt_dim: vae-mnist has no such field. Did you mean: latent_dim?"),
    ("lr = { low = 1e-2, high = 1e-4 }", "lr: the range is empty (low 0.01 > high 0.0001)"),
    ("latent_dim = ['big']", "latent_dim='big' must be an integer"),
    ("likelihood = { low = 0, high = 1 }", "a low/high range needs a numeric field"),
    ("train.log_every = [0, 5]", "train.log_every=0 is not allowed: at least 1"),
    ("lr = { low = 0, high = 1e-3, log = true }", "a log range needs low > 0"),
    ("lr = [1e-3", "is not valid TOML"),
])
def test_space_is_checked_before_any_trial(space: str, message: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["tune", *TINY, "--space", space, "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and message in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1  # one line, no traceback
    assert not (tmp_path / "o").exists()  # refused before any storage or run dir was made


def test_grid_refuses_a_range_without_step_and_set_conflicts(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["tune", *TINY, "--space", "lr = { low = 1e-4, high = 1e-2 }", "--sampler", "grid",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "--sampler grid needs a finite list for lr" in r.output
    r = CliRunner().invoke(cli, ["tune", *TINY, "--space", "train.batch_size = [8, 16]", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "train.batch_size is searched and also fixed with --set" in r.output
    r = CliRunner().invoke(cli, ["tune", *TINY, "--space", "lr = [1e-3]", "--seed", "3", "--set", "train.seed=4"])
    assert r.exit_code == 1 and "--seed 3 and --set train.seed=4 disagree" in r.output  # never silently overruled
    r = CliRunner().invoke(cli, ["tune", *TINY, "--space", "lr = [1e-3]", "--set", "train.eval_every=5"])
    assert r.exit_code == 1 and "give --eval-every N instead" in r.output
    r = CliRunner().invoke(cli, ["tune", *TINY[:-2], "--space", "lr = [1e-3, 1e-2]", "--metric", "fidd"])
    assert r.exit_code == 1 and "unknown metric" in r.output and "Did you mean: fid" in r.output
    r = CliRunner().invoke(cli, ["tune", "dcgan-digits", "--space", "latent_dim = [8, 16]", "--metric", "bpd"])
    assert r.exit_code == 1 and "--metric bpd: dcgan-digits has no likelihood" in r.output
    r = CliRunner().invoke(cli, ["tune", "dcgan-digits", "--space", "latent_dim = [8, 16]", "--metric", "pr"])
    assert r.exit_code == 1 and "pr gives precision, recall, f1" in r.output


def test_a_changed_command_cannot_join_the_study(tmp_path: Path) -> None:
    out = tmp_path / "s"
    base = [*TINY, "--space", "latent_dim = [4, 8]", "--sampler", "grid", "--steps", "5", "--out", str(out)]
    assert _tune(*base, "--trials", "1").exit_code == 0
    r = CliRunner().invoke(cli, ["tune", *base[:-2], "--steps", "6", "--out", str(out)])
    assert r.exit_code == 1 and "was started with other set" in r.output, r.output


@pytest.mark.parametrize(("module", "args"), [
    ("optuna", ["tune", *TINY, "--space", "latent_dim = [4]"]),
    ("psycopg", ["tune", *TINY, "--space", "latent_dim = [4]", "--storage", "postgresql://u:p@127.0.0.1:1/db"]),
])
def test_a_missing_extra_is_named_in_one_line(module: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what Python does for a package that is not installed
    r = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines() == [f"Error: genzoo tune needs {module}, which is not installed: "
                                             f"pip install 'genzoo[tune]'"] if module == "optuna" else \
        [f"Error: a PostgreSQL storage needs {module}, which is not installed: pip install 'genzoo[tune]'"]


# -- PostgreSQL: many processes, one study ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> str:
    """A throwaway PostgreSQL cluster on a free local port; its URL. The server refuses to run as root, so
    as root it runs as `nobody` (initdb and pg_ctl through runuser)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="genzoo-pg-"))
    if os.getuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    folder.chmod(0o755)
    data, port = folder / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120, "cwd": folder}
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync"], **run)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], **run)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


def _worker(url: str, out: Path, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "genzoo", "tune", *TINY, "--space", "lr = { low = 1e-4, high = 1e-2, log = true }",
            "--space", "latent_dim = [4, 8]", "--sampler", "random", "--trials", "4", "--steps", "60",
            "--storage", url, "--study", "shared", "--heartbeat", "1", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_two_processes_share_a_postgres_study_and_a_killed_one_continues(postgres: str, tmp_path: Path) -> None:
    logs = {k: tmp_path / f"{k}.log" for k in ("a", "b", "a2")}
    a = _worker(postgres, tmp_path / "a", logs["a"])
    b = _worker(postgres, tmp_path / "b", logs["b"])
    procs = [a, b]
    try:
        def running_in_a() -> list[int]:
            with contextlib.suppress(KeyError):  # the study is not created yet
                study = optuna.load_study(study_name="shared", storage=postgres)
                return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                        if t.user_attrs.get("worker", "").endswith(f":{a.pid}")]
            return []

        _wait_for(lambda: running_in_a() or a.poll() is not None, 120, "worker a to start a trial")
        a.send_signal(signal.SIGKILL)  # mid-trial: from its claim to its result, a trial is RUNNING
        a.wait(30)
        killed = running_in_a()  # left RUNNING by the dead process, until its heartbeat goes stale
        a2 = _worker(postgres, tmp_path / "a", logs["a2"])  # the same command again, on the same machine
        procs.append(a2)
        for p in (b, a2):
            assert p.wait(240) == 0, "\n".join(f"--- {k}\n{v.read_text()}" for k, v in logs.items())
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                p.kill()
    study = optuna.load_study(study_name="shared", storage=postgres)
    trials = study.get_trials()
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4, [(t.number, t.state.name) for t in trials]
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    # no trial ran twice: one run dir per trial number over both machines' folders, and one worker per trial
    dirs = [p.name for p in [*(tmp_path / "a").glob("trial-*"), *(tmp_path / "b").glob("trial-*")]]
    assert len(dirs) == len(set(dirs))
    text = {k: v.read_text() for k, v in logs.items()}
    for t in finished:
        starts = sum(text[k].count(f"trial {t.number}: lr=") for k in text)
        assert starts == 1, (t.number, text)
        assert (Path(t.user_attrs["run_dir"]) / "pretrained" / "config.json").is_file()
    assert "trial" in text["b"] and "of 4 trials finished" in text["a2"]
    assert killed, f"the kill was meant to land during a trial of worker a:\n{text['a']}"
    for number in killed:  # the killed trial failed (heartbeat) and its values ran again, to the end
        dead = next(t for t in trials if t.number == number)
        assert dead.state.name == "FAIL"
        retry = [t for t in finished if t.system_attrs.get("failed_trial") == number]
        assert len(retry) == 1 and retry[0].params == dead.params


def test_a_trial_stopped_by_a_signal_is_trained_again_by_the_next_run(tmp_path: Path) -> None:
    """SIGTERM mid-trial (preemption): the command exits 143, and the interrupted grid point waits in the
    study to be trained by the next run of the same command, so no grid point is lost."""
    out = tmp_path / "pre"
    cmd = [sys.executable, "-m", "genzoo", "tune", *TINY, "--space", "lr = [1e-3, 3e-3]", "--sampler", "grid",
           "--steps", "100000", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("trial-*/metrics.jsonl")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-2000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output[-2000:]
    trials = _study(out).get_trials()
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(interrupted) == 1 and len(waiting) == 1
    assert waiting[0].system_attrs["fixed_params"] == interrupted[0].params  # what Optuna hands out next
    assert waiting[0].user_attrs["retry_of"] == interrupted[0].number
