"""Running metrics: an evaluation context that computes each shared input once, and the metrics on it.

A metric is a function ``compute(ctx) -> list[Score]`` registered by a plugin. It asks the
context for what it needs (real statistics, fake features, logits, image pairs, the model)
and the context computes each of those at most once: FID, KID, precision/recall and
density/coverage in one call share the feature extraction, the cached real statistics and a
single blocked sweep over the Gram matrices (genzoo.core.metrics.pairwise).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from genzoo.core.errors import CapabilityError, GenzooError
from genzoo.core.image_quality import mean_finite, psnr, ssim

from ..data.imageset import images_digest
from .extractors.base import FeatureExtractor, extract
from .frechet import GaussianStats, feature_stats, frechet_distance
from .inception_score import inception_score
from .kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS
from .pairwise import PairwiseRequest, PairwiseResult, RealSide, pairwise_metrics, real_side, real_side_key
from .prdc import DC_K, PR_K
from .protocol import Protocol, Score
from .stats_cache import RealStats, cached_real_stats, cached_tensors


@dataclass
class EvalOptions:
    kid_subsets: int = DEFAULT_SUBSETS
    kid_subset_size: int = DEFAULT_SUBSET_SIZE  # lowered to the sample counts when fewer images are given
    pr_k: int = PR_K
    dc_k: int = DC_K
    is_splits: int = 10
    seed: int = 2020
    batch_size: int = 200
    use_cache: bool = True


@dataclass
class EvalContext:
    """Everything a metric may need. ``fake`` and ``real`` are uint8 (N, C, H, W) images.

    ``pairs`` holds (reference, output) uint8 image pairs for full-reference metrics (a
    model's reconstructions of real images); ``model`` and ``model_inputs`` serve likelihood
    metrics. ``real_memo`` holds what only the real side determines (its statistics, its
    share of the pairwise sweep); a caller scoring several fake sets against one real set,
    as the trainer's periodic evaluation does, passes the same dict to each context.
    """

    fake: torch.Tensor | None = None
    real: torch.Tensor | None = None
    extractor: FeatureExtractor | None = None
    real_data: str = ""
    real_split: str = ""
    requested: tuple[str, ...] = ()
    options: EvalOptions = field(default_factory=EvalOptions)
    pairs: tuple[torch.Tensor, torch.Tensor] | None = None
    model: Any = None
    model_inputs: torch.Tensor | None = None
    device: str | torch.device = "cpu"
    stats_dir: str | None = None
    real_memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def _need(self, what: str) -> Any:
        value = getattr(self, what)
        if value is None:
            raise GenzooError(f"this metric needs {what} images or an extractor, which this evaluation lacks.")
        return value

    # -- shared inputs, each computed once ---------------------------------------------------

    def real_stats(self) -> RealStats:
        if "real" not in self.real_memo:
            real, ex = self._need("real"), self._need("extractor")
            parts = {"data": self.real_data, "split": self.real_split, "pixels": images_digest(real),
                     **ex.describe(real.shape[1])}

            def compute() -> tuple[torch.Tensor, torch.Tensor | None]:
                return extract(ex, real, batch_size=self.options.batch_size, device=self.device)

            if self.options.use_cache:
                self.real_memo["real"] = cached_real_stats(parts, compute, self.stats_dir)
            else:
                feats, logits = compute()
                self.real_memo["real"] = RealStats(feats, logits, feature_stats(feats), "", False)
        return self.real_memo["real"]

    def real_side(self, req: PairwiseRequest, n_fake: int) -> RealSide:
        """The real set's share of the pairwise sweep for ``req``: memoised, and cached on disk
        beside the real statistics it was computed from."""
        stats = self.real_stats()
        n_real, dim = stats.features.shape
        parts = {"real": stats.key, "sweep": real_side_key(req, n_real, n_fake, dim)}
        memo_key = ("real_side", repr(parts))
        if memo_key not in self.real_memo:
            def compute() -> dict[str, torch.Tensor]:
                return real_side(stats.features.to(torch.device(self.device)), n_fake, req).to_tensors()

            if self.options.use_cache and stats.key:
                tensors = cached_tensors(parts, compute, self.stats_dir, required=("kid_shift",))[0]
            else:
                tensors = compute()
            self.real_memo[memo_key] = RealSide.from_tensors(tensors)
        return self.real_memo[memo_key]

    def fake_features(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if "fake" not in self._memo:
            self._memo["fake"] = extract(self._need("extractor"), self._need("fake"),
                                         batch_size=self.options.batch_size, device=self.device)
        return self._memo["fake"]

    def fake_stats(self) -> GaussianStats:
        if "fake_stats" not in self._memo:
            self._memo["fake_stats"] = feature_stats(self.fake_features()[0])
        return self._memo["fake_stats"]

    def pairwise(self) -> PairwiseResult:
        """One sweep for every pairwise metric requested in this evaluation."""
        if "pairwise" not in self._memo:
            real, fake = self.real_stats().features, self.fake_features()[0]
            o, want = self.options, set(self.requested)
            req = PairwiseRequest(
                pr_k=o.pr_k if want & {"pr", "precision", "recall"} else 0,
                dc_k=o.dc_k if want & {"dc", "density", "coverage"} else 0,
                kid_subsets=o.kid_subsets if "kid" in want else 0,
                kid_subset_size=self.kid_subset_size(), seed=o.seed)
            dev = torch.device(self.device)
            side = self.real_side(req, len(fake))
            self._memo["pairwise"] = pairwise_metrics(real.to(dev), fake.to(dev), req, side)
        return self._memo["pairwise"]

    def kid_subset_size(self) -> int:
        n = min(len(self._need("real")), len(self._need("fake")))
        return min(self.options.kid_subset_size, n)

    def protocol(self, metric: str, **params: Any) -> Protocol:
        ex = self.extractor
        base = ex.describe((self.fake if self.fake is not None else self.real).shape[1]) if ex else {}
        return Protocol(metric=metric, real_data=self.real_data, real_split=self.real_split,
                        n_real=len(self.real) if self.real is not None else 0,
                        n_fake=len(self.fake) if self.fake is not None else 0,
                        seed=self.options.seed, **base).with_params(**params)


# -- the built-in metrics (registered by genzoo.plugins.metrics) -------------------------------


def compute_fid(ctx: EvalContext) -> list[Score]:
    value = frechet_distance(ctx.real_stats().gaussian, ctx.fake_stats())
    return [Score("fid", value, ctx.protocol("fid"))]


def compute_kid(ctx: EvalContext) -> list[Score]:
    v = ctx.pairwise().values
    proto = ctx.protocol("kid", subsets=ctx.options.kid_subsets, subset_size=ctx.kid_subset_size(),
                         kernel="poly degree 3, gamma 1/d, coef0 1", estimator="unbiased")
    return [Score("kid", v["kid"], proto, {"std": v["kid_std"]})]


def compute_pr(ctx: EvalContext) -> list[Score]:
    v = ctx.pairwise().values
    proto = ctx.protocol("pr", k=ctx.options.pr_k)
    return [Score(name, v[name], proto) for name in ("precision", "recall", "f1")]


def compute_dc(ctx: EvalContext) -> list[Score]:
    v = ctx.pairwise().values
    proto = ctx.protocol("dc", k=ctx.options.dc_k)
    return [Score(name, v[name], proto) for name in ("density", "coverage")]


def compute_is(ctx: EvalContext) -> list[Score]:
    logits = ctx.fake_features()[1]
    if logits is None:
        raise GenzooError(f"the extractor {ctx.extractor.name!r} has no classifier, so it cannot give an IS.")
    v = inception_score(logits, splits=ctx.options.is_splits, seed=ctx.options.seed)
    proto = ctx.protocol("is", splits=ctx.options.is_splits, classes=int(logits.shape[1]))
    return [Score("is", v["is"], proto, {"std": v["is_std"]})]


def _pairs(ctx: EvalContext, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    if ctx.pairs is None:
        raise CapabilityError(f"{metric} compares each output with its reference image; evaluate a model that can "
                              "reconstruct (or translate) images, so that there are pairs to compare.")
    return ctx.pairs


def _pair_protocol(ctx: EvalContext, metric: str, n: int, **params: Any) -> Protocol:
    return dataclasses.replace(Protocol(metric=metric, real_data=ctx.real_data, real_split=ctx.real_split,
                                        n_real=n, n_fake=n, seed=ctx.options.seed),
                               input_size=int(ctx.pairs[0].shape[-1])).with_params(data_range=255, **params)


def compute_psnr(ctx: EvalContext) -> list[Score]:
    ref, out = _pairs(ctx, "psnr")
    value = mean_finite(psnr(out.double(), ref.double(), data_range=255.0))
    return [Score("psnr", value, _pair_protocol(ctx, "psnr", len(ref), reduction="mean over images (finite)"))]


def compute_ssim(ctx: EvalContext) -> list[Score]:
    ref, out = _pairs(ctx, "ssim")
    value = float(ssim(out.double(), ref.double(), data_range=255.0).mean())
    return [Score("ssim", value, _pair_protocol(ctx, "ssim", len(ref), window="gaussian sigma 1.5 (scikit-image)"))]


@torch.no_grad()
def compute_bpd(ctx: EvalContext) -> list[Score]:
    """Bits per dimension of the real images under the model: -log_prob / (D ln 2), averaged."""
    model, x = ctx.model, ctx.model_inputs
    if model is None or x is None:
        raise CapabilityError("bpd needs a model with log_prob and real images to score.")
    model.require("log_prob")
    total, n = 0.0, 0
    for part in x.split(ctx.options.batch_size):
        lp = model.log_prob(part.to(model.device))
        total += float(lp.double().sum())
        n += part.shape[0]
    dims = math.prod(x.shape[1:])
    value = -total / (n * dims * math.log(2))
    proto = Protocol(metric="bpd", real_data=ctx.real_data, real_split=ctx.real_split, n_real=n,
                     seed=ctx.options.seed, input_size=int(x.shape[-1])).with_params(
                         discrete_levels=model.likelihood_levels)
    return [Score("bpd", value, proto)]
