"""Training a zoo evaluator on a named data set: data loading (registry) around the core training loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genzoo.core.errors import GenzooError
from genzoo.core.metrics.extractors.defaults import EVALUATORS
from genzoo.core.metrics.extractors.evaluator import evaluators_dir, save_evaluator, train_evaluator

from ..sources import load_data
from ..zoo import get_zoo


def train_evaluator_for(data: str, *, steps: int | None = None, batch_size: int = 128, lr: float = 2e-3,
                        seed: int = 0, limit: int = 0, data_root: str | os.PathLike | None = None,
                        out: str | os.PathLike | None = None,
                        echo: Callable[[str], Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """Train the evaluator for ``data`` (mnist, fashion-mnist, cifar10); save it; return (folder, record)."""
    if data not in EVALUATORS:
        raise GenzooError(f"no evaluator recipe for {data!r}; known: {', '.join(EVALUATORS)}.")
    arch, name = EVALUATORS[data]
    spec = get_zoo().dataset(data)
    train_set = load_data(data, image_size=spec.image_size, channels=spec.channels, split="train", root=data_root)
    test_set = load_data(data, image_size=spec.image_size, channels=spec.channels, split="test", root=data_root)
    images, labels = train_set.images, train_set.labels
    if labels is None or test_set.labels is None:
        raise GenzooError(f"{data} has no labels; an evaluator is a classifier and needs them.")
    if limit:
        images, labels = images[:limit], labels[:limit]
    steps = steps or 3 * max(1, len(images) // batch_size)
    if echo:
        echo(f"training {name} ({arch}) on {len(images)} {data} images for {steps} steps ...")
    model, record = train_evaluator(images, labels, test_set.images, test_set.labels, arch=arch,
                                    classes=max(spec.classes, len(train_set.classes)), name=name, steps=steps,
                                    batch_size=batch_size, lr=lr, seed=seed,
                                    progress=(lambda s, loss: echo(f"  step {s}/{steps}  loss {loss:.4f}"))
                                    if echo else None)
    path = save_evaluator(model, Path(out) if out else evaluators_dir() / name, dataset=data,
                          classes=tuple(train_set.classes), record=record)
    return path, record
