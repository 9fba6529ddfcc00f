"""The trainer's periodic evaluator: the same metric code as ``genzoo eval``, prepared once per run.

Sample metrics (fid, kid, pr, dc, is) score generated images; bpd scores the real test images under
the model's likelihood (what `genzoo tune --metric bpd` prunes on).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from genzoo.core.data.transforms import format_tensor, normalize
from genzoo.core.device import pick_device
from genzoo.core.errors import GenzooError
from genzoo.core.metrics.context import EvalContext, EvalOptions
from genzoo.core.metrics.extractors.defaults import default_extractor
from genzoo.core.metrics.protocol import Score

from ..sources import load_data
from ..zoo import get_zoo
from .evaluate import build_extractor, compute_scores, metric_names, sample_uint8, seeded_subset


def training_evaluator(
    data: str = "mnist",
    *,
    metrics: str | list[str] | tuple[str, ...] = ("fid",),
    n: int = 2000,
    split: str = "test",
    features: str | None = None,
    features_weights: str | None = None,
    data_root: str | os.PathLike | None = None,
    seed: int = 2020,
    batch_size: int = 200,
    kid_subsets: int = 20,
) -> Any:
    """A callable ``evaluate(model) -> [Score]`` for the trainer's ``eval_every`` hook.

    The extractor and the real statistics are prepared once per run; each call samples ``n``
    images from the model with a fixed seed (the same noise every time, so successive values
    differ by the model, not by the draw). The trainer logs the values as ``eval.<name>``, and
    the final weights' Scores, computed by the same metric code as ``genzoo eval`` and stamped
    with their protocol, go into the run's model card. Use a small ``n`` during training:
    values at n=2000 are biased upwards against n=10000 ones, which is why n_fake is part of
    every protocol.
    """
    names = metric_names(metrics)
    unsupported = [m for m in names if m in ("psnr", "ssim")]
    if unsupported:
        raise GenzooError(f"training evaluation computes sample metrics and bpd only; drop {', '.join(unsupported)}.")
    sampled = [m for m in names if m != "bpd"]
    zoo = get_zoo()
    spec = zoo.dataset(data) if data in zoo.datasets else None
    size, channels = (spec.image_size, spec.channels) if spec else (0, 0)
    real = load_data(data, image_size=size, channels=channels, split=split, root=data_root).images
    real = seeded_subset(real, n, seed)
    extractor = build_extractor(features or default_extractor(data), features_weights) if sampled else None
    options = EvalOptions(kid_subsets=kid_subsets, seed=seed, batch_size=batch_size)
    dev = pick_device("auto")
    real_memo: dict[Any, Any] = {}  # the real side once per run, even without the disk cache

    def evaluate_model(model: Any) -> list[Score]:
        fake = inputs = None
        if sampled:
            fake = format_tensor(sample_uint8(model, n, seed=seed, batch_size=batch_size), real.shape[-1],
                                 real.shape[1])
        if "bpd" in names:  # the real images as the model reads them, dequantised with the evaluation seed
            x = format_tensor(real, model.config.image_size, model.config.channels) \
                if hasattr(model.config, "image_size") else real
            inputs = normalize(x, model.preprocessing.normalize, torch.Generator().manual_seed(seed))
        ctx = EvalContext(fake=fake, real=real, extractor=extractor, real_data=data, real_split=split,
                          requested=tuple(names), options=options, device=dev, real_memo=real_memo,
                          model=model if inputs is not None else None, model_inputs=inputs)
        return compute_scores(ctx, names)

    return evaluate_model
