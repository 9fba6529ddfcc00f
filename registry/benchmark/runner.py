"""Running a suite: plan the cells, skip the finished ones, train and score the rest, report.

Cells run one after another in this process, or with ``jobs > 1`` in that many spawned
worker processes, each limited to its share of the CPU cores (torch threads and the
OpenMP/MKL/BLAS pools), so K workers do not fight over the same cores. A failing cell is
recorded (error.json) and retried on the next run; it never stops the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import multiprocessing
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from genzoo.core.atomic import check_can_write
from genzoo.core.divergence import Diverged
from genzoo.core.errors import ConfigError, GenzooError
from genzoo.core.images import save_grid
from genzoo.core.metrics.extractors.defaults import EVALUATORS
from genzoo.core.metrics.extractors.evaluator import CONFIG as EVALUATOR_CONFIG
from genzoo.core.metrics.extractors.evaluator import evaluator_folder, evaluators_dir
from genzoo.core.rundir import RunDir
from genzoo.core.version import __version__

from ..evaluation.applicability import FEATURE_METRICS
from ..evaluation.evaluate import build_extractor, evaluate
from ..evaluation.evaluators import train_evaluator_for
from ..hub import is_location
from ..models.build import create_model
from ..sources import load_data
from ..training.train import train
from ..zoo import get_zoo
from .cells import (
    Cell,
    cell_run,
    checkpoint_every,
    claim,
    finished,
    last_error,
    plan,
    prepare,
    resumable,
    train_overrides,
    write_diverged,
    write_error,
    write_result,
)
from .executors import Executor
from .publish import write_reports
from .suite import NEEDS, WHY, EvalProtocol, Suite, score_names

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")
GRID_IMAGES = 64


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- the feature extractor, shared by every cell ------------------------------------------------


def extractor_identity(protocol: EvalProtocol, data_root: str | None, log: Callable[[str], Any]) -> dict[str, Any]:
    """Name and weight digest of the suite's extractor; a zoo evaluator is trained first if missing.

    Training it here, once, before any cell starts, keeps parallel workers from racing to
    train the same evaluator, and puts its digest in every cell key: retraining the
    evaluator makes new cells instead of mixing two evaluators in one table.
    """
    if not set(protocol.metrics) & {"fid", "kid", "pr", "dc", "is"}:
        return {}
    name = protocol.features
    folder = evaluator_folder(name, protocol.features_weights or None)[0]  # shipped weights need no training
    zoo_names = {n: data for data, (_, n) in EVALUATORS.items()}
    if not (folder / EVALUATOR_CONFIG).is_file() and name in zoo_names:
        folder = evaluators_dir() / name
        if not (folder / EVALUATOR_CONFIG).is_file():
            log(f"evaluator {name} is not trained yet: training it on {zoo_names[name]} once (cached in {folder})")
            train_evaluator_for(zoo_names[name], data_root=data_root, echo=log)
    if (folder / EVALUATOR_CONFIG).is_file():
        cfg = json.loads((folder / EVALUATOR_CONFIG).read_text(encoding="utf-8"))
        return {"name": cfg.get("name", name), "weights_sha256": cfg.get("weights_sha256", ""),
                "test_accuracy": cfg.get("test_accuracy")}
    weights = Path(protocol.features_weights).expanduser() if protocol.features_weights else None
    if weights is not None and weights.is_file():
        st = weights.stat()
        return {"name": name, "weights": str(weights.resolve()), "size": st.st_size, "mtime": int(st.st_mtime)}
    return {"name": name}


def preflight(protocol: EvalProtocol, data_root: str | None) -> None:
    """What would fail every cell's evaluation after its training, checked before the first cell trains:
    the real data (a registered data set's split) and the feature extractor (built once, then dropped)."""
    spec = get_zoo().datasets.get(protocol.data)
    if spec is not None:
        load_data(protocol.data, image_size=spec.image_size, channels=spec.channels, split=protocol.split,
                  root=data_root)
    if set(protocol.metrics) & FEATURE_METRICS:
        build_extractor(protocol.features, protocol.features_weights or None)


# -- one cell --------------------------------------------------------------------------------


def _pretrained_source(model: str) -> str:
    if is_location(model):
        return model
    entry = get_zoo().model(model)
    if not entry.hub:
        raise GenzooError(f"{model} has budget \"pretrained\" but no hub location in the catalog; "
                          "give it a training budget or list its hub location instead.")
    return entry.hub


def _save_grid(model: Any, path: Path, seed: int, n: int = GRID_IMAGES) -> str:
    """The report's sample grid: ``n`` images (the cell recipe's ``sample_grid``, at most 64; none for 0,
    which is how a suite spares an autoregressive model an hour of sampling on a CPU)."""
    if "sample" not in model.capabilities or n <= 0:
        return ""
    classes = getattr(model.config, "num_classes", 0)
    labels = torch.arange(n) % classes if classes and "conditional" in model.capabilities else None
    with torch.no_grad():
        images = model.sample(n, labels=labels, generator=torch.Generator(model.device).manual_seed(seed))
    save_grid(images.cpu(), path, 8)
    return path.name


def _evaluate(source: str, capabilities: tuple[str, ...], p: EvalProtocol, data_root: str | None,
              only: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Scores (name -> value, std, protocol) and n/a reasons under the suite's protocol.

    Metrics outside ``only`` (the model's part of the suite's metrics, when it has one) and metrics
    the model cannot support are n/a up front; the others are computed together
    (they share the generated images and features). If that fails, each is retried alone,
    so one metric's failure becomes its own "n/a (reason)" instead of sinking the rest.
    """
    na: dict[str, str] = {}
    todo = []
    for m in p.metrics:
        need = NEEDS.get(m)
        if only and m not in only:
            for s in score_names(m):
                na[s] = "not measured in this suite"
        elif need and need not in capabilities:
            for s in score_names(m):
                na[s] = WHY[need]
        else:
            todo.append(m)
    kw = {"split": p.split, "n": p.n, "features": p.features, "features_weights": p.features_weights or None,
          "data_root": data_root, "seed": p.seed, "kid_subsets": p.kid_subsets,
          "kid_subset_size": p.kid_subset_size, "batch_size": p.batch_size}
    results, notes = [], []
    if todo:
        try:
            results.append(evaluate(source, p.data, metrics=todo, **kw))
        except GenzooError:
            for m in todo:
                try:
                    results.append(evaluate(source, p.data, metrics=[m], **kw))
                except GenzooError as exc:
                    for s in score_names(m):
                        na[s] = str(exc).splitlines()[0]
    scores = {}
    for r in results:
        notes += r.notes
        na.update(r.na)  # a metric that failed inside evaluate is n/a there, with its reason
        for s in r.scores:
            scores[s.name] = {"value": float(s.value), **{k: float(v) for k, v in s.extra.items()},
                              "protocol": s.protocol.to_dict()}
    return scores, na, list(dict.fromkeys(notes))


def run_cell(cell: Cell, suite: Suite, out: str, data_root: str | None) -> dict[str, Any]:
    """Train (or pull) and score one cell; its result.json is the last thing written.

    Never raises for a failing model: the failure is written to error.json and returned,
    so the other cells go on. A KeyboardInterrupt still stops everything. Runs only while it
    holds the cell's claim: a cell another executor finished meanwhile is returned as it is.
    """
    with claim(cell, Path(out)):
        if (done := finished(cell.dir(Path(out)))) is not None:  # finished by another executor while we waited
            return {**done, "reused": True}
        d, resume = prepare(cell, Path(out))
        try:
            return _run_cell(cell, suite, d, data_root, resume)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any failure of one model is reported, not fatal
            error = {"label": cell.model.label, "seed": cell.seed, "key": cell.key, "status": "failed",
                     "error": f"{type(exc).__name__}: {exc}".splitlines()[0] if not isinstance(exc, GenzooError)
                     else str(exc).splitlines()[0],
                     "traceback": traceback.format_exc(), "time": _now()}
            write_error(d, error)
            return error


def collect(cell: Cell, out: Path, why: str = "") -> dict[str, Any]:
    """What a cell run by another executor left in its folder: its result, else its error, else (the task
    died before writing either) a failure saying ``why``, recorded in error.json like any other.

    The cell's own error.json wins over ``why``: it has the real error and its traceback, where the
    engine's view can be vague or late (Slurm's accounting may still say RUNNING for a job that has
    just ended), and overwriting it would lose both."""
    d = cell.dir(out)
    if (result := finished(d)) is not None:
        return result
    if (error := last_error(d)) is not None:
        return error
    error = {"label": cell.model.label, "seed": cell.seed, "key": cell.key, "status": "failed",
             "error": why or "the cell's task ended without writing result.json or error.json", "time": _now()}
    write_error(d, error)
    return error


def _run_cell(cell: Cell, suite: Suite, d: Path, data_root: str | None, resume: bool = False) -> dict[str, Any]:
    m, t0 = cell.model, time.perf_counter()
    steps, stopped, losses = 0, "", ""
    if m.budget.kind == "pretrained":
        source = recorded = _pretrained_source(m.model)
        train_seconds = 0.0
    else:
        run = cell_run(d)
        try:
            steps, stopped = _train_cell(cell, suite, run, data_root, resume)
        except Diverged as exc:  # an outcome of this recipe and seed, not a failure to retry
            return write_diverged(cell, d, str(exc), exc.step, time.perf_counter() - t0)
        train_seconds = loop_seconds(run) or time.perf_counter() - t0
        source = str(run.path)
        recorded = run.path.relative_to(d).as_posix()  # relative to the cell, as the record travels (git, copies)
        losses = run.metrics.relative_to(d).as_posix() if run.metrics.is_file() else ""
        shutil.rmtree(run.checkpoint.parent, ignore_errors=True)  # trained: only the weights are needed from here
    model = create_model(source)
    capabilities = tuple(model.capabilities)
    params = int(sum(p.numel() for p in model.parameters()))
    recipe = cell.identity["resolved"].get("train") or {}
    grid = _save_grid(model, d / "grid.png", seed=cell.seed, n=min(GRID_IMAGES, recipe.get("sample_grid", GRID_IMAGES)))
    del model
    t1 = time.perf_counter()
    scores, na, notes = _evaluate(source, capabilities, suite.protocol, data_root, m.metrics)
    result = {
        "status": "ok", "key": cell.key, "label": m.label, "model": m.model, "seed": cell.seed,
        "budget": m.budget.to_dict(), "steps": steps, "stopped": stopped, "train_seconds": round(train_seconds, 3),
        "wall_seconds": round(time.perf_counter() - t0, 3),
        "eval_seconds": round(time.perf_counter() - t1, 3), "params": params, "capabilities": list(capabilities),
        "scores": scores, "na": na, "notes": notes, "grid": grid, "losses": losses, "source": recorded,
        "threads": _threads(), "finished": _now(), **({"resumed": True} if resume else {}),
    }
    write_result(d, result)
    return result


def _train_cell(cell: Cell, suite: Suite, run: RunDir, data_root: str | None, resume: bool) -> tuple[int, str]:
    """Train the cell's model into ``run`` (or continue a killed attempt's run); (steps trained, why it stopped early).

    A run that a killed attempt had already finished is not trained again: only its scoring was lost."""
    if resume and run.is_finished():
        detail = run.read().get("status_detail", {})
        return int(detail.get("step", cell.identity["resolved"]["train"]["steps"])), str(detail.get("stopped", ""))
    if resume:  # from its last checkpoint
        result = train(resume=run.path, data_root=data_root, progress=False)
    else:
        m = cell.model
        tr = {**train_overrides(m, suite, cell.seed), "checkpoint_every": checkpoint_every(cell)}
        result = train(m.model, suite.protocol.data, out=run.path, config=m.config, train=tr,
                       preprocessing=m.preprocessing, data_root=data_root, progress=False)
    return result.step, result.stopped


def loop_seconds(run: RunDir) -> float:
    """Seconds spent in the training loop, from the trainer's log (steps x batch / images per second).

    This leaves out data loading, model building and saving, which do not grow with the
    budget, so the cost axis compares how fast each model trains, not how fast it starts.
    0.0 when the run has no readable record or log (the caller then falls back to wall time).
    """
    try:
        batch = run.read()["train"]["batch_size"]
    except (GenzooError, OSError, KeyError, TypeError):
        return 0.0
    total, last = 0.0, 0
    for row in run.read_logs():
        if "images_per_s" in row and row.get("images_per_s", 0) > 0:
            total += (row["step"] - last) * batch / row["images_per_s"]
            last = row["step"]
    return total


def _threads() -> int:
    return torch.get_num_threads()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- many cells -----------------------------------------------------------------------------


def _init_worker(threads: int) -> None:
    """In each spawned worker, before any work: its share of the cores, for every thread pool."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set by an earlier parallel region; harmless
        torch.set_num_interop_threads(1)


def _run_parallel(todo: list[Cell], suite: Suite, out: Path, data_root: str | None, jobs: int,
                  report: Callable[[Cell, dict[str, Any]], None]) -> None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    saved = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update({v: str(threads) for v in THREAD_VARS})  # inherited by the spawned workers at start
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(threads,)) as pool:
            futures = {pool.submit(run_cell, c, suite, str(out), data_root): c for c in todo}
            try:
                for fut in as_completed(futures):
                    report(futures[fut], fut.result())
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        for v, value in saved.items():
            if value is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = value


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__}


def run_suite(suite: Suite, out: str | os.PathLike, *, jobs: int = 1, data_root: str | None = None,
              log: Callable[[str], Any] = print, command: str = "", executor: Executor | None = None,
              models: str | None = None) -> dict[str, Any]:
    """Run every unfinished cell of ``suite`` into ``out`` and write the reports; return results.json's content.

    ``models`` (fnmatch patterns, as ``--models``) limits what runs, not what the reports show: the
    cells of the suite's other models that are already finished in ``out`` stay in them, so running
    one model into a suite's folder adds a row instead of throwing the rest of the leaderboard away.
    ``executor`` (genzoo.benchmark.executors: Ray, Slurm) runs the cells elsewhere; None is the local
    process pool of ``jobs`` workers. Either way each cell writes its own folder in ``out``.
    """
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1 (got {jobs}).")
    chosen = {m.label for m in suite.select(models).models}
    out = Path(out)
    extractor = extractor_identity(suite.protocol, data_root, log)
    preflight(suite.protocol, data_root)
    check_can_write(out, f"--out {out}", folder=True)
    everything = plan(suite, extractor)
    done = {c.key: r for c in everything if (r := finished(c.dir(out))) is not None}
    cells = [c for c in everything if c.model.label in chosen]
    todo = [c for c in cells if c.key not in done]
    kept = [c for c in everything if c.model.label not in chosen and c.key in done]
    resuming = sum(resumable(c, c.dir(out)) for c in todo)
    log(f"suite {suite.name}: {_count(len(chosen), 'model')} x {_count(len(suite.seeds), 'seed')} = "
        f"{_count(len(cells), 'cell')}; {len(cells) - len(todo)} finished (reused), {len(todo)} to run"
        + (f" on {jobs} workers" if jobs > 1 and todo else "")
        + (f" ({resuming} resume{'s' if resuming == 1 else ''} a killed attempt's training)" if resuming else "")
        + (f"; the reports keep {_count(len(kept), 'finished cell')} of its other models" if kept else ""))
    out.mkdir(parents=True, exist_ok=True)
    failed: dict[str, dict[str, Any]] = {}
    counter = iter(range(1, len(todo) + 1))

    def record(cell: Cell, result: dict[str, Any]) -> None:
        i = next(counter)
        if result.get("status") == "diverged":
            done[cell.key] = result
            log(f"[{i}/{len(todo)}] {cell.name}: DIVERGED at step {result['steps']} (not scored)")
        elif result.get("status") == "ok":
            done[cell.key] = result
            vals = "  ".join(f"{k} {v['value']:.4g}" for k, v in list(result["scores"].items())[:4])
            by = " (finished by another executor; reused)" if result.get("reused") else \
                " (resumed)" if result.get("resumed") else ""
            log(f"[{i}/{len(todo)}] {cell.name}: {result['steps']} steps in {result['train_seconds']:.0f} s; "
                f"{vals}{by}")
        else:
            failed[cell.key] = result
            log(f"[{i}/{len(todo)}] {cell.name}: FAILED: {result['error']} (details: {cell.dir(out)}/error.json)")

    if executor is not None:
        if todo:
            log(f"running {len(todo)} cells on {executor.describe()}")
            executor.run(todo, functools.partial(run_cell, suite=suite, out=str(out), data_root=data_root),
                         _init_worker, functools.partial(collect, out=out), record)
    elif jobs == 1 or len(todo) <= 1:
        for cell in todo:
            log(f"running {cell.name}: {cell.model.budget.describe()} ...")
            record(cell, run_cell(cell, suite, str(out), data_root))
    else:
        _run_parallel(todo, suite, out, data_root, min(jobs, len(todo)), record)
    for c in cells:  # failures of earlier runs that this run did not retry (none, normally)
        if c.key not in done and c.key not in failed and (err := last_error(c.dir(out))):
            failed[c.key] = err
    shown = chosen | {c.model.label for c in kept}
    meta = {"suite": dataclasses.replace(suite, models=tuple(m for m in suite.models if m.label in shown)).to_dict(),
            "command": command or " ".join(["genzoo", *sys.argv[1:]]),
            "date": _now(), "machine": machine(), "genzoo_version": __version__, "jobs": jobs,
            "executor": executor.describe() if executor is not None else "local",
            "extractor": extractor,
            # so that a report of part of a suite says it is one
            "unreported": [m.label for m in suite.models if m.label not in shown]}
    return write_reports(out, [c for c in everything if c.model.label in shown], done, failed, meta)
