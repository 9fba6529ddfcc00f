"""``genzoo.train``: a registered model, a data source and a recipe -> a run dir with a trained model.

The trainer (genzoo.core.trainer) owns the loop; this module decides what goes into it:
the resolved config, recipe and preprocessing (or those a run dir recorded, on resume),
the data, the evaluator for ``eval_every``, and what the run records about itself.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from genzoo.core import distributed
from genzoo.core.checkpoint import checkpoint_files
from genzoo.core.config import from_dict, to_dict
from genzoo.core.data.loader import BatchLoader
from genzoo.core.device import pick_device
from genzoo.core.divergence import Diverged
from genzoo.core.errors import GenzooError
from genzoo.core.interrupt import TrainingStopped, after_checkpoint, requeue_wanted
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig
from genzoo.core.rundir import RunDir
from genzoo.core.runlock import RunLock
from genzoo.core.trainer import Trainer, TrainResult
from genzoo.core.version import __version__

from ..evaluation.during_training import training_evaluator
from ..models.build import build_model
from ..models.overrides import check_resume_overrides, resume_command, train_command
from ..sources import load_data
from ..zoo import get_zoo


def train(
    name: str | None = None,
    data: str | None = None,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    preprocessing: dict[str, Any] | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool | None = None,
    eval_metrics: str = "fid",
    eval_n: int = 2000,
    eval_features: str | None = None,
    evaluator: Callable[[Any], list[Any]] | None = None,
    command: str | None = None,
    requeue: bool | None = None,
) -> TrainResult:
    """Train a registered model (or resume a run) and return a TrainResult.

    A run dir holds run.json (everything needed to resume), checkpoints/, samples/,
    metrics.jsonl and, at the end, pretrained/. With ``train={"eval_every": K}`` the model is
    scored every K steps on ``eval_metrics`` (``eval_n`` samples against the data's test
    split, ``eval_features`` extractor), logged as ``eval.<metric>`` and usable as
    ``train.monitor`` for early stopping; the final weights' scores (``result.scores``) are
    recorded with their protocols in pretrained/config.json and the model card, which are
    written once, at the end, with those scores. ``evaluator``, a callable ``evaluate(model) ->
    [Score]``, replaces the one built from ``eval_metrics``: the trainer calls it every ``eval_every``
    steps and on the final weights (even with ``eval_every`` 0); ``genzoo tune`` passes one that
    also reports each score to its pruner.

    How the weights were made (the data's name, content hash and size, the steps actually
    trained, batch size, seed, wall time, machine, genzoo and plugin versions and ``command``)
    is the model's ``meta.provenance``, kept in pretrained/config.json under "provenance" and
    shown in the card. ``command`` is the command line that reproduces the run (default: this
    process's own); a resumed run keeps the one it started with and records its own as
    "resumed_by".

    While it trains, the run dir is locked (a second train or resume of it is refused, naming this
    process) and run.json's "status" says how it stands: running, finished, stopped (a signal:
    TrainingStopped is raised once the checkpoint is written), diverged (Diverged is raised) or failed.
    ``requeue`` (default: $GENZOO_REQUEUE) requeues the Slurm job after a SIGUSR1 stop (core.interrupt).
    """
    train_overrides = dict(train or {})
    if steps is not None:
        train_overrides["steps"] = steps
    if epochs is not None:
        train_overrides["epochs"] = epochs
    if resume is not None:
        check_resume_overrides(config, preprocessing)
        run_dir = RunDir(resume)
        run = run_dir.read()
        entry = get_zoo().model(run["model"])
        model_cfg = from_dict(entry.config_class(), run["config"], where=f"{run_dir.run_file} config", saved=True)
        recipe = from_dict(TrainConfig, {**run["train"], **train_overrides}, where="train")
        prep = from_dict(Preprocessing, run["preprocessing"], where=f"{run_dir.run_file} preprocessing")
        source = run["data"]
        data_root = data_root or run.get("data_root")
        evaluation = run.get("eval", {})
    else:
        if name is None:
            raise GenzooError("train needs a model name (or resume=RUN_DIR).")
        entry = get_zoo().model(name)
        model_cfg = entry.make_config(config)
        recipe = entry.make_recipe(train_overrides)
        prep = entry.make_preprocessing(preprocessing)
        source = data or entry.data
        evaluation = {"metrics": eval_metrics, "n": eval_n, "features": eval_features}
        run_dir = RunDir(out if out else Path("runs") / entry.name)
    # With torchrun, join the other ranks first: from here on only rank 0 looks at or writes the run dir.
    world = distributed.init(recipe.device)
    world.check_batch(recipe.batch_size)  # a global batch the ranks cannot share is refused before the data loads
    # One writer per run dir (core.runlock): a run dir another live process holds is refused here, before the data
    # is loaded, naming that process; the lock itself is taken below, for as long as this run writes.
    if world.main and run_dir.path.is_dir():
        RunLock(run_dir.path).probe()
    if resume is not None and world.main and not checkpoint_files(run_dir.checkpoint):
        raise GenzooError(f"cannot resume {run_dir.path}: it holds no checkpoint (the run stopped before its first "
                          f"one); delete the folder or give another --out, and start it again with its command.")
    if resume is None and world.main and run_dir.is_run():
        raise GenzooError(f"{run_dir.path} already holds a run; pass --resume {run_dir.path} to continue it, "
                          f"or --out a new folder (nothing was overwritten).")
    made_by = train_command(entry, source, run_dir.path, model_cfg, recipe, prep, data_root=data_root,
                            evaluation=evaluation)
    resumed_by = (command or resume_command(run_dir.path, train_overrides)) if resume is not None else ""
    command = (run.get("command") or made_by) if resume is not None else (command or made_by)
    image_size, channels = getattr(model_cfg, "image_size", 0), getattr(model_cfg, "channels", 0)
    images = load_data(source, image_size=image_size, channels=channels, resize=prep.resize, root=data_root)
    torch.manual_seed(recipe.seed)
    plugin = get_zoo().plugins.get(entry.plugin)
    # the trainer adds the steps actually trained, the batch size and seed it used and the wall time
    provenance = {
        "data": {"name": source, "sha256": images.content_hash(), "images": len(images)},
        "steps": recipe.steps if not recipe.epochs else None, "epochs": recipe.epochs or None,
        "batch_size": recipe.batch_size, "seed": recipe.seed,
        "machine": f"{platform.node() or 'unknown'} ({platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{pick_device(recipe.device)})",
        "genzoo_version": __version__, "plugin_version": plugin.version if plugin is not None else "",
        "command": command,
        **({"resumed_by": resumed_by} if resumed_by and resumed_by != command else {}),
    }
    model = build_model(entry, model_cfg, prep, data=source, provenance=provenance)
    n_classes = len(images.classes)
    labels = torch.arange(recipe.sample_grid) % n_classes if n_classes and "conditional" in model.capabilities else None
    loader = BatchLoader(images, prep, recipe.batch_size, recipe.seed, pick_device(recipe.device))
    if not world.main:  # rank 0 evaluates for everyone
        evaluator = None
    elif evaluator is None and recipe.eval_every:
        evaluator = training_evaluator(source, metrics=evaluation.get("metrics", "fid"), n=evaluation.get("n", 2000),
                                       features=evaluation.get("features"), data_root=data_root)
    trainer = Trainer(model, loader, recipe, run_dir.path, progress=progress, sample_labels=labels,
                      evaluate=evaluator)
    lock = RunLock(run_dir.path).acquire() if world.main else None  # released however the run ends
    ours = resume is not None  # whether run.json is this run's, so that its status is ours to record
    try:
        if resume is not None:
            trainer.resume()
        elif world.main:
            if run_dir.is_run():
                raise GenzooError(f"{run_dir.path} was started by another run while this one loaded its data; "
                                  f"nothing was overwritten.")
            run_dir.write({
                "model": entry.name, "family": entry.family, "plugin": entry.plugin, "data": source,
                "data_root": str(Path(data_root).resolve()) if data_root else None,
                "classes": list(images.classes), "config": to_dict(model_cfg), "train": to_dict(recipe),
                "preprocessing": to_dict(prep), "eval": evaluation, "genzoo_version": __version__,
                "command": command, "status": "running",
            })
            ours = True
        if resume is not None and world.main:
            _status(run_dir, "running")
        result = trainer.fit()
    except Diverged as exc:
        if world.main:
            _status(run_dir, "diverged", step=exc.step, reason=str(exc))
        raise
    except TrainingStopped as stop:
        if world.main:
            _status(run_dir, "stopped", step=stop.step, reason=f"{stop.args[0]}{' (at once)' if stop.forced else ''}")
        after_checkpoint(stop, requeue_wanted(requeue) and world.main)
        raise
    except Exception as exc:
        if world.main and ours:
            _status(run_dir, "failed", step=trainer.step, reason=str(exc).splitlines()[0] if str(exc) else repr(exc))
        raise
    else:
        if world.main:
            _status(run_dir, "finished", step=result.step, **({"stopped": result.stopped} if result.stopped else {}))
    finally:
        distributed.close()
        if lock is not None:
            lock.release()
    return result


def _status(run_dir: RunDir, status: str, **details: Any) -> None:
    """Best effort: a full disk or a removed run.json must not hide the error that ended the run."""
    with contextlib.suppress(GenzooError, OSError):
        run_dir.set_status(status, **details)
