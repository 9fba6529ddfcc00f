"""Metric math against the reference implementations, on identical feature arrays.

torch-fidelity's own functions are the references for FID, KID, precision/recall and IS;
density/coverage follow Naeem et al.'s published code (the `prdc` package), rewritten here in
numpy because that package is not installed. References get float64 inputs so that what is
compared is the math, not the reference's float32 rounding.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from genzoo.core.data.imageset import images_digest
from genzoo.core.metrics.frechet import feature_stats, fid_from_features, frechet_distance
from genzoo.core.metrics.inception_score import inception_score
from genzoo.core.metrics.kid import kid
from genzoo.core.metrics.pairwise import PairwiseRequest, RealSide, _smallest, pairwise_metrics, real_side
from genzoo.core.metrics.prdc import density_coverage, precision_recall
from genzoo.core.metrics.protocol import Protocol, Score, comparable, differences, explain
from genzoo.core.metrics.stats_cache import cached_real_stats

REL = 1e-4


def _features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # ReLU'd correlated Gaussians: non-negative and anisotropic like pooled CNN features.
    mix = torch.randn(d, d, generator=g) / math.sqrt(d)
    return ((torch.randn(n, d, generator=g) * scale + shift) @ mix).relu()


@pytest.fixture(scope="module")
def real_fake() -> tuple[torch.Tensor, torch.Tensor]:
    return _features(700, 48, 0), _features(600, 48, 1, shift=0.3, scale=1.2)


def test_fid_matches_torch_fidelity(real_fake):
    real, fake = real_fake
    ref = fid_statistics_to_metric(fid_features_to_statistics(real.double()), fid_features_to_statistics(fake.double()),
                                   verbose=False)["frechet_inception_distance"]
    assert ref > 0.1
    assert fid_from_features(real, fake) == pytest.approx(ref, rel=REL)
    # identical sets: zero up to rounding, never a negative number from a complex square root
    assert abs(fid_from_features(real, real)) < 1e-8 * float(feature_stats(real).sigma.trace())


def test_fid_rank_deficient_covariance():
    """Fewer samples than dimensions (singular covariances) is where sqrtm-based FIDs go complex."""
    real, fake = _features(40, 96, 2), _features(50, 96, 3, shift=0.2)
    ref = fid_statistics_to_metric(fid_features_to_statistics(real.double()), fid_features_to_statistics(fake.double()),
                                   verbose=False)["frechet_inception_distance"]
    assert fid_from_features(real, fake) == pytest.approx(ref, rel=REL)


def test_fid_stats_match_numpy(real_fake):
    real, _ = real_fake
    ref = np.cov(real.double().numpy(), rowvar=False)
    exact = feature_stats(real.double(), chunk=97, block=7)  # float64 input: float64 products, np.cov exactly
    np.testing.assert_allclose(exact.sigma.numpy(), ref, rtol=1e-10, atol=1e-12)
    fast = feature_stats(real, chunk=97, block=7)  # float32 products of centred rows, float64 accumulation
    np.testing.assert_allclose(fast.sigma.numpy(), ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    assert torch.equal(fast.sigma, fast.sigma.T) and torch.equal(fast.mu, exact.mu)
    a, b = feature_stats(real), feature_stats(real + 1.0)
    assert frechet_distance(a, b) == pytest.approx(real.shape[1], rel=1e-6)  # pure mean shift of 1 per dim


def test_kid_matches_torch_fidelity(real_fake):
    real, fake = real_fake
    kw = dict(kid_subsets=12, kid_subset_size=300, rng_seed=7, verbose=False, kid_kernel="poly",
              kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1)
    ref = kid_features_to_metric(fake.double(), real.double(), **kw)  # torch-fidelity: input 1 is generated
    ours = kid(real, fake, subsets=12, subset_size=300, seed=7)
    assert ref["kernel_inception_distance_mean"] > 1e-3
    for method in ("sweep", "subsets"):  # both code paths, whichever "auto" picks here
        v = pairwise_metrics(real, fake, PairwiseRequest(kid_subsets=12, kid_subset_size=300, seed=7,
                                                         kid_method=method)).values
        assert v["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-6), method
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=REL)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-3)
    with pytest.raises(ValueError, match="subset size"):
        kid(real[:100], fake, subsets=2, subset_size=300)


def test_precision_recall_matches_torch_fidelity(real_fake):
    real, fake = real_fake
    ref = prc_features_to_metric(fake.double(), real.double(), prc_neighborhood=3, prc_batch_size=10000,
                                 save_cpu_ram=False, verbose=False)
    ours = precision_recall(real, fake)
    assert 0.05 < ref["precision"] < 0.95 and 0.05 < ref["recall"] < 0.95  # non-trivial values
    for ours_key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f_score")):
        assert ours[ours_key] == pytest.approx(ref[ref_key], rel=REL)


def test_block_size_does_not_change_results(real_fake):
    real, fake = real_fake
    req = dict(pr_k=3, dc_k=5, kid_subsets=4, kid_subset_size=200, seed=3)
    whole = pairwise_metrics(real, fake, PairwiseRequest(**req, block=4096)).values
    for block in (129, 128):  # ragged last blocks; 128 also takes the grouped k-smallest search
        blocked = pairwise_metrics(real, fake, PairwiseRequest(**req, block=block)).values
        for key, value in whole.items():  # KID's float32 block sums round differently per block size
            assert blocked[key] == pytest.approx(value, rel=1e-6 if key.startswith("kid") else 1e-9,
                                                 abs=1e-12), (block, key)


@pytest.mark.parametrize("block", [64, 128, 100, 4096])
@pytest.mark.parametrize("levels", [3, 50])
def test_knn_distances_are_exact(block, levels):
    """Integer features make every squared distance an exact float32 integer (with many ties at 3
    levels, few at 50), so the sweep's k-NN distances must equal a brute-force sort exactly, the
    point itself included: the grouped search on 64- and 128-blocks as much as plain top-k on the
    others and on ragged last blocks."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, levels, (300, 6), generator=g).float()
    brute = torch.cdist(x.double(), x.double()).pow(2).sort(1).values[:, :4].float()
    knn = real_side(x, 300, PairwiseRequest(pr_k=3, block=block)).knn
    assert torch.equal(knn, brute)


@pytest.mark.parametrize("shape", [(64, 64), (128, 96), (96, 128), (100, 128), (40, 40)])
@pytest.mark.parametrize("levels", [3, 0])
def test_grouped_k_smallest_equals_topk(shape, levels):
    """The sweep's grouped search for the k smallest values of each row or column is exact: it gives
    topk's values on continuous blocks and on blocks full of ties (levels=3), on both axes, and
    falls back to topk where a side does not split into enough groups of 16."""
    g = torch.Generator().manual_seed(shape[0] * shape[1] + levels)
    block = torch.randint(0, levels, shape, generator=g).float() if levels else torch.rand(shape, generator=g)
    for k in (1, 4, 6):
        assert torch.equal(_smallest(block, k, dim=1), block.topk(k, dim=1, largest=False).values)
        assert torch.equal(_smallest(block, k, dim=0), block.T.topk(k, dim=1, largest=False).values)


def test_a_kept_real_side_gives_the_same_results(real_fake):
    real, fake = real_fake
    req = PairwiseRequest(pr_k=3, dc_k=5, kid_subsets=4, kid_subset_size=200, seed=3, kid_method="sweep")
    side = RealSide.from_tensors(real_side(real, len(fake), req).to_tensors())  # as the stats cache stores it
    assert pairwise_metrics(real, fake, req, side).values == pairwise_metrics(real, fake, req).values
    with pytest.raises(ValueError, match="another request"):  # k-NN distances for k=3 cannot serve k=5
        pairwise_metrics(real, fake, req, real_side(real, len(fake), PairwiseRequest(pr_k=3, kid_subsets=4,
                                                                                   kid_subset_size=200)))


def _naeem_reference(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Naeem et al.'s prdc.compute_prdc density/coverage, verbatim in numpy."""
    def dist(a, b):
        return np.sqrt(np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0))

    real_nnd = np.partition(dist(real, real), k, axis=-1)[:, k]
    d_rf = dist(real, fake)
    density = (1.0 / k) * (d_rf < real_nnd[:, None]).sum(axis=0).mean()
    coverage = (d_rf.min(axis=1) < real_nnd).mean()
    return {"density": float(density), "coverage": float(coverage)}


def test_density_coverage_match_naeem(real_fake):
    real, fake = real_fake
    ref = _naeem_reference(real.double().numpy(), fake.double().numpy(), 5)
    ours = density_coverage(real, fake, k=5)
    assert 0.05 < ref["coverage"] < 0.99 and ref["density"] > 0.05
    assert ours["density"] == pytest.approx(ref["density"], rel=REL)
    assert ours["coverage"] == pytest.approx(ref["coverage"], rel=REL)


def test_inception_score_matches_torch_fidelity():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(500, 10, generator=g) * 3
    ref = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=11)
    ours = inception_score(logits, splits=10, seed=11)
    assert ref["inception_score_mean"] > 1.5
    assert ours["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-9)
    assert ours["is_std"] == pytest.approx(ref["inception_score_std"], rel=1e-6)
    # one-hot confident and uniform over 10 classes -> IS = 10
    assert inception_score(torch.eye(10).repeat(10, 1) * 50, splits=1)["is"] == pytest.approx(10, rel=1e-6)


def test_protocol_mismatch_is_flagged():
    a = Protocol(metric="fid", extractor="lenet-mnist", extractor_sha256="ab", input_size=28, channels="gray",
                 real_data="mnist", real_split="test", n_real=10000, n_fake=10000, seed=1)
    b = Protocol.from_dict(json.loads(json.dumps(a.to_dict())))
    assert comparable(a, b) and differences(a, b) == []
    c = Protocol.from_dict({**a.to_dict(), "n_fake": 5000, "extractor_sha256": "cd", "genzoo_version": "9"})
    assert differences(a, c) == ["extractor_sha256", "n_fake", "genzoo_version"]
    assert not comparable(a, c)
    assert "n_fake: 10000 vs 5000" in explain(a, c)
    d = a.with_params(subsets=100)
    assert not comparable(a, d) and differences(a, d) == ["params.subsets"]
    assert comparable(a, Protocol.from_dict({**a.to_dict(), "genzoo_version": "9"}))  # software version alone is not
    s = Score("fid", 3.5, d, {"std": 0.1})
    assert Score.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_stats_cache_reuse_and_atomicity(tmp_path):
    images = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8)
    parts = {"data": "toy", "split": "test", "pixels": images_digest(images), "extractor": "x"}
    calls = []

    def compute():
        calls.append(1)
        return images.flatten(1).float()[:, :5], None

    first = cached_real_stats(parts, compute, tmp_path)
    second = cached_real_stats(parts, compute, tmp_path)
    assert len(calls) == 1 and not first.from_cache and second.from_cache
    assert torch.equal(first.features, second.features) and torch.allclose(first.gaussian.sigma, second.gaussian.sigma)
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".safetensors"]  # no temp files left behind
    # a different pixel digest (a changed split or folder) is a different entry
    other = images.clone()
    other[0, 0, 0, 0] ^= 1
    cached_real_stats({**parts, "pixels": images_digest(other)}, compute, tmp_path)
    assert len(calls) == 2
    # a truncated entry (a crash mid-copy, a full disk) is recomputed with a warning, never trusted
    files[0].write_bytes(files[0].read_bytes()[:100])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = cached_real_stats(parts, compute, tmp_path)
    assert len(calls) == 3 and not again.from_cache and any("unreadable" in str(w.message) for w in caught)
    assert torch.equal(again.features, first.features)


def test_cholesky_and_eigh_routes_agree(real_fake):
    from genzoo.core.metrics.frechet import _trace_sqrt_eigh, trace_sqrt_product

    real, fake = real_fake
    a, b = feature_stats(real).sigma, feature_stats(fake).sigma
    assert torch.linalg.cholesky_ex(a)[1] == 0  # this pair takes the Cholesky route
    assert float(trace_sqrt_product(a, b)) == pytest.approx(float(_trace_sqrt_eigh(a, b)), rel=1e-10)
