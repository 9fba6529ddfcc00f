"""``genzoo.evaluate``: score a model, a run, an image folder or an .npz of images against real data.

What is generated, which real images it is compared with, which extractor sees both and
how many of each there are all end up in each Score's protocol. The real side's features
and statistics are cached (genzoo.core.metrics.stats_cache), so evaluating ten checkpoints
against MNIST test extracts the real features once.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.core.atomic import DiskFull, atomic_write_text, check_can_write
from genzoo.core.data.transforms import denormalize, format_tensor, normalize
from genzoo.core.device import flush_denormals, pick_device
from genzoo.core.errors import GenzooError, did_you_mean
from genzoo.core.metrics.context import EvalContext, EvalOptions
from genzoo.core.metrics.extractors.defaults import default_extractor
from genzoo.core.metrics.extractors.evaluator import CONFIG as EVALUATOR_CONFIG
from genzoo.core.metrics.extractors.evaluator import LOCAL, load_evaluator
from genzoo.core.metrics.protocol import Score
from genzoo.core.rundir import is_model_folder

from ..models.build import create_model
from ..sources import load_data
from ..zoo import get_zoo, resolve
from .applicability import FEATURE_METRICS, IMAGES, inapplicable, score_names

DEFAULT_METRICS = ("fid", "kid", "pr", "dc")


@dataclass
class EvalResult:
    """Scores (genzoo.core.metrics.protocol.Score) and what was evaluated."""

    source: str
    data: str
    split: str
    scores: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    na: dict[str, str] = field(default_factory=dict)
    """score name -> why it is n/a (the model lacks what the metric needs, or the metric failed)"""

    def values(self) -> dict[str, float]:
        return {s.name: s.value for s in self.scores}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "data": self.data, "split": self.split, "notes": self.notes,
                "scores": [s.to_dict() for s in self.scores], "na": self.na}


def build_extractor(name: str, weights: str | None = None) -> Any:
    """An extractor by registered name, ``prefix:ARG`` (e.g. timm:resnet18) or evaluator folder path."""
    zoo = get_zoo()
    spec = zoo.extractors.get(name)
    if spec is None and ":" in name:
        spec = zoo.extractors.get(name.split(":", 1)[0] + ":")
    if spec is None and (name.startswith(LOCAL) or (Path(name).expanduser() / EVALUATOR_CONFIG).is_file()):
        return load_evaluator(name, weights=weights)
    if spec is None:
        raise GenzooError(f"unknown feature extractor {name!r}.{did_you_mean(name, zoo.extractors)} "
                          f"Known: {', '.join(sorted(zoo.extractors))} (timm: takes timm:ARCH), "
                          "or an evaluator folder.")
    return resolve(spec.builder, f"extractor {name!r}")(name, weights=weights)


def metric_names(metrics: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    known = get_zoo().metrics
    for m in names:
        if m not in known:
            raise GenzooError(f"unknown metric {m!r}.{did_you_mean(m, known)} Known: {', '.join(sorted(known))}.")
    return list(dict.fromkeys(names))


def to_uint8(x: Any) -> Any:
    """Model outputs in [-1, 1] -> uint8, as saving them as PNGs would (the protocol's fake_format)."""
    return ((x.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def load_npz(path: Path) -> Any:
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.keys())
            only = keys[0] if len(keys) == 1 else None
            key = next((k for k in ("images", "arr_0", "samples", "x") if k in keys), only)
            if key is None:
                raise GenzooError(f"{path} holds several arrays ({', '.join(keys)}); name the images one 'images'.")
            arr = f[key]
    except (OSError, ValueError) as exc:
        raise GenzooError(f"{path} is not a readable .npz file ({exc}).") from None
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise GenzooError(f"{path}: images must be (N, H, W), (N, H, W, C) or (N, C, H, W); got {arr.shape}.")
    if arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.uint8:
        return t
    if not t.is_floating_point():
        raise GenzooError(f"{path}: images must be uint8 or float, got {arr.dtype}.")
    lo, hi = float(t.min()), float(t.max())
    if lo < -1.001 or hi > 1.001:
        raise GenzooError(f"{path}: float images must lie in [0, 1] or [-1, 1] (found {lo:.3g}..{hi:.3g}).")
    return to_uint8(t) if lo < 0 else (t.float() * 255).round().clamp(0, 255).to(torch.uint8)


def sample_uint8(model: Any, n: int, *, seed: int, batch_size: int) -> Any:
    """``n`` uint8 samples in batches from noise seeded by ``seed`` on the model's device (MPS has no
    seeded generators): the same weights always give the same images, whoever evaluates them."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed) if device.type != "mps" else None
    with torch.no_grad():
        return torch.cat([to_uint8(model.sample(min(batch_size, n - i), generator=gen))
                          for i in range(0, n, batch_size)])


def compute_scores(ctx: Any, names: list[str]) -> list[Score]:
    """Each registered metric's Scores on ``ctx``, which computes their shared inputs once."""
    metrics = get_zoo().metrics
    return [s for name in names for s in resolve(metrics[name].compute, f"metric {name!r}")(ctx)]


def seeded_subset(images: Any, n: int, seed: int) -> Any:
    """A seeded random subset of ``n`` (all when fewer): the same real images for every model."""
    if n >= len(images):
        return images
    idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return images[idx]


def evaluate(
    source: str | os.PathLike,
    data: str = "mnist",
    *,
    split: str = "test",
    metrics: str | list[str] | tuple[str, ...] = DEFAULT_METRICS,
    n: int = 10_000,
    features: str | None = None,
    features_weights: str | None = None,
    data_root: str | os.PathLike | None = None,
    seed: int = 2020,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    batch_size: int = 200,
    device: str = "auto",
    use_cache: bool = True,
    out: str | os.PathLike | None = None,
) -> EvalResult:
    """Score ``source`` (a registered model NAME, a run dir, a pretrained folder, an image folder
    or an .npz of images) against ``n`` images of ``data``'s ``split``.

    ``metrics``: any of fid, kid, pr, dc, is, psnr, ssim, bpd (comma-separated or a list). A metric the
    source cannot support is n/a (``EvalResult.na``, with the reason), not an error; every check that can
    fail (output writable, metrics applicable, real data present, extractor available) runs before the
    first sample is drawn. ``features``: an extractor name (default: the zoo evaluator for MNIST-family
    data and CIFAR-10, else fid-inception-v3); ``features_weights`` a local weights file or evaluator
    folder for it. Writes JSON to ``out``.
    """
    names = metric_names(metrics)
    if n < 2:
        raise GenzooError(f"--n must be at least 2 (got {n}).")
    if out is not None:
        check_can_write(out, f"--out {out}")
    zoo = get_zoo()
    spec = zoo.datasets.get(data)
    size, channels = (spec.image_size, spec.channels) if spec else (0, 0)
    result = EvalResult(str(source), data, split)
    dev = pick_device(device)
    flush_denormals()

    # -- what the source is, and which metrics apply to it (nothing sampled yet) ----------------
    src = Path(source).expanduser()
    model, fake = None, None
    if src.suffix == ".npz":
        if not src.is_file():
            raise GenzooError(f"{src} does not exist.")
        fake = load_npz(src)
    elif src.is_dir() and not is_model_folder(src):
        fake = load_data(str(src), image_size=size or 0, channels=channels or 0, root=data_root).images
    else:
        model = create_model(str(source))
        if not model.meta.source:  # built from a registered name: fresh weights
            result.notes.append(f"{source} is an untrained registered model (pass a run dir to score a trained one).")
        model.to(dev).eval()
    na = inapplicable(names, model.capabilities if model is not None else (IMAGES,))
    for metric, reason in na.items():
        result.notes.append(f"{metric}: n/a ({source} {reason})")
        result.na.update(dict.fromkeys(score_names(metric), reason))
    names = [m for m in names if m not in na]
    if not names:
        raise GenzooError(f"none of the requested metrics applies to {source}: "
                          + "; ".join(f"{m} ({r})" for m, r in na.items()) + ".")

    # -- the real side and the extractor: present and loadable before any sampling -------------
    if not size and fake is not None:
        size, channels = fake.shape[-1], fake.shape[1]
    real_set = load_data(data, image_size=size, channels=channels, split=split, root=data_root)
    if real_set.origin:
        result.notes.append(f"real data: {real_set.origin}")
    real = seeded_subset(real_set.images, n, seed)
    size, channels = real.shape[-1], real.shape[1]
    needs_features = bool(set(names) & FEATURE_METRICS)
    extractor = None
    if needs_features:
        extractor = build_extractor(features or default_extractor(data), features_weights)
        acc = getattr(extractor, "test_accuracy", None)
        if acc is not None:
            shipped = " (shipped with genzoo)" if getattr(extractor, "shipped", False) else ""
            result.notes.append(f"extractor {extractor.name}{shipped}: test accuracy {acc:.4f}")

    # -- the generated side ---------------------------------------------------------------------
    if model is not None and needs_features:
        fake = sample_uint8(model, n, seed=seed, batch_size=batch_size)
    if fake is not None:
        if len(fake) > n:
            fake = seeded_subset(fake, n, seed + 1)
        if fake.shape[-1] != size or fake.shape[1] != channels:
            result.notes.append(f"generated images {tuple(fake.shape[1:])} formatted to the real data's "
                                f"({channels}, {size}, {size}).")
            fake = format_tensor(fake, size, channels)

    pairs, model_inputs = None, None
    if model is not None and set(names) & {"psnr", "ssim", "bpd"}:
        prep = model.preprocessing.normalize
        x = format_tensor(real, model.config.image_size, model.config.channels) \
            if hasattr(model.config, "image_size") else real
        inputs = normalize(x, prep, torch.Generator().manual_seed(seed))
        if "bpd" in names:
            model_inputs = inputs
        if set(names) & {"psnr", "ssim"}:
            with torch.no_grad():
                recon = torch.cat([denormalize(model.reconstruct(p.to(dev)).cpu(), prep)
                                   for p in inputs.split(batch_size)])
            pairs = (format_tensor(x, size, channels), format_tensor(recon, size, channels))

    # -- the metrics: one failing is its own n/a, the others stand -------------------------------
    options = EvalOptions(kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed,
                          batch_size=batch_size, use_cache=use_cache)
    ctx = EvalContext(fake=fake, real=real, extractor=extractor, real_data=data, real_split=split,
                      requested=tuple(names), options=options, pairs=pairs, model=model,
                      model_inputs=model_inputs, device=dev)
    failed = []
    for name in names:
        try:
            result.scores.extend(compute_scores(ctx, [name]))
        except DiskFull:  # the machine's problem, not the metric's: stop, as every other command does
            raise
        except GenzooError as exc:
            reason = str(exc).splitlines()[0]
            result.notes.append(f"{name}: n/a ({reason})")
            result.na.update(dict.fromkeys(score_names(name), reason))
            failed.append(f"{name} ({reason})")
    if not result.scores:  # n/a beside other scores is a note; n/a everywhere is a failed evaluation, not exit 0
        raise GenzooError(f"no requested metric could be computed for {source}: {'; '.join(failed)}.")
    if fake is not None and "kid" in names and ctx.kid_subset_size() < kid_subset_size:
        warnings.warn(f"KID subset size lowered to {ctx.kid_subset_size()} (fewer images than {kid_subset_size}); "
                      "it is recorded in the protocol.", stacklevel=2)
    if out is not None:
        atomic_write_text(out, json.dumps(result.to_dict(), indent=2) + "\n")
    return result
