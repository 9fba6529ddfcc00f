"""Training a zoo evaluator on a named data set: data loading (registry) around the core training loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from genzoo.core.errors import GenzooError
from genzoo.core.metrics.extractors.defaults import EVALUATORS, RECIPES
from genzoo.core.metrics.extractors.evaluator import (
    EvaluatorRecipe,
    evaluators_dir,
    save_evaluator,
    train_evaluator,
)

from ..sources import load_data
from ..zoo import get_zoo


def recipe_for(data: str, **overrides: Any) -> EvaluatorRecipe:
    """The zoo's recipe for ``data`` with ``overrides`` (None values are ignored) on top."""
    if data not in EVALUATORS:
        raise GenzooError(f"no evaluator recipe for {data!r}; known: {', '.join(EVALUATORS)}.")
    known = {f.name for f in fields(EvaluatorRecipe)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise GenzooError(f"unknown evaluator recipe field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    recipe = replace(EvaluatorRecipe(), **{**RECIPES[data], **{k: v for k, v in overrides.items() if v is not None}})
    if overrides.get("steps") and overrides.get("epochs") is None:
        recipe = replace(recipe, epochs=0)  # --steps alone means exactly that many steps
    recipe.check()
    return recipe


def train_evaluator_for(data: str, *, steps: int | None = None, batch_size: int | None = None,
                        lr: float | None = None, seed: int = 0, limit: int = 0,
                        data_root: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
                        echo: Callable[[str], Any] | None = None, resume: bool = True,
                        **recipe: Any) -> tuple[Path, dict[str, Any]]:
    """Train the evaluator for ``data`` (mnist, fashion-mnist, cifar10) with the zoo's recipe for it (fields of
    EvaluatorRecipe in ``recipe`` override it); save it; return (folder, record).

    A checkpoint beside the output folder (``<out>.checkpoint.safetensors``) is written after every epoch and
    removed once the evaluator is saved, so an interrupted training resumes when the same command runs again.
    """
    rec = recipe_for(data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, **recipe)
    name = EVALUATORS[data][1]
    spec = get_zoo().dataset(data)
    train_set = load_data(data, image_size=spec.image_size, channels=spec.channels, split="train", root=data_root)
    test_set = load_data(data, image_size=spec.image_size, channels=spec.channels, split="test", root=data_root)
    images, labels = train_set.images, train_set.labels
    if labels is None or test_set.labels is None:
        raise GenzooError(f"{data} has no labels; an evaluator is a classifier and needs them.")
    if limit:
        images, labels = images[:limit], labels[:limit]
    folder = Path(out) if out else evaluators_dir() / name
    checkpoint = folder.with_name(folder.name + ".checkpoint.safetensors")
    if not resume and checkpoint.exists():
        checkpoint.unlink()
    if echo:
        echo(f"training {name} ({rec.arch}) on {len(images)} {data} images"
             f"{' (' + train_set.origin + ')' if train_set.origin else ''} ...")
        if checkpoint.exists():
            echo(f"resuming from {checkpoint}")

    def epoch_line(r: dict[str, Any]) -> None:
        eta = r["seconds"] / r["step"] * (r["steps"] - r["step"])
        echo(f"  epoch {r['epoch']}/{r['epochs']}  step {r['step']}/{r['steps']}  loss {r['loss']:.4f}  "
             f"test acc {r['test_accuracy']:.4f}  {r['seconds']:.0f} s  ETA {eta:.0f} s")

    model, record = train_evaluator(images, labels, test_set.images, test_set.labels,
                                    classes=max(spec.classes, len(train_set.classes)), name=name, recipe=rec,
                                    checkpoint=checkpoint, on_epoch=epoch_line if echo else None)
    path = save_evaluator(model, folder, dataset=data, classes=tuple(train_set.classes), record=record,
                          data_origin=train_set.origin)
    checkpoint.unlink(missing_ok=True)
    return path, record
