"""Glow on real MNIST: actnorm / LU 1x1 conv numerics, actnorm init across save/resume, learning."""

from __future__ import annotations

import math

import pytest
import torch
from flow_helpers import autograd_logdet, mean_bpd, mnist_test_images, perturb, train_tiny

import genzoo
from genzoo.core.flows import squeeze
from genzoo.plugins.glow.model import ActNorm, InvConv1x1

TINY = {"image_size": 14, "levels": 1, "steps": 3, "hidden": 32, "lr": 3e-3}
STEPS = 40


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return train_tiny("glow", TINY, tmp_path_factory.mktemp("glow") / "run", data_root, STEPS)


def actnorms(model) -> list[ActNorm]:
    return [m for m in model.modules() if isinstance(m, ActNorm)]


@pytest.mark.parametrize("layer", ["actnorm", "invconv"])
def test_layer_inverts_and_logdet_matches_autograd_jacobian(layer: str, data_root) -> None:
    torch.manual_seed(0)
    x = squeeze(mnist_test_images(data_root, 4, n=2).double() - 0.5)  # real digits as 4 x 2 x 2
    step = (ActNorm(4) if layer == "actnorm" else InvConv1x1(4)).double()
    step.train()
    y, logdet = step(x)
    if layer == "actnorm":  # data-dependent init: zero mean, unit variance per channel on this batch
        torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(4, dtype=y.dtype), atol=1e-6, rtol=0)
        torch.testing.assert_close(y.std(dim=(0, 2, 3), unbiased=False), torch.ones(4, dtype=y.dtype),
                                   atol=1e-4, rtol=0)
    perturb(step, scale=0.2)
    y, logdet = step(x)
    back, inv_logdet = step.inverse(y)
    assert (back - x).abs().max() < 1e-4
    torch.testing.assert_close(inv_logdet, -logdet)
    for i in range(2):
        torch.testing.assert_close(logdet[i], autograd_logdet(lambda v: step(v)[0], x[i:i + 1]))
    assert logdet.abs().min() > 1e-3


def test_lu_weight_is_invertible_and_logdet_is_log_abs_det_w() -> None:
    conv = InvConv1x1(6)
    perturb(conv, scale=0.3)
    w = conv.weight()
    torch.testing.assert_close(torch.linalg.slogdet(w)[1], conv.log_s.sum(), rtol=1e-5, atol=1e-5)


def test_whole_model_inverts_and_density_is_the_change_of_variables(data_root) -> None:
    """With priors at their (standard Gaussian) init and all other weights perturbed."""
    model = genzoo.create_model("glow", image_size=4, levels=2, steps=2, hidden=8).double()
    perturb(model, scale=0.2, skip=("splits", "prior"))
    model.eval()
    x = mnist_test_images(data_root, 4, n=3).double()
    z = model.encode(x)
    assert (model.decode(z) - x).abs().max() < 1e-4
    lp = model.log_prob(x)
    for i in range(3):
        log_normal = -0.5 * (math.log(2 * math.pi) + z[i] ** 2).sum()
        expected = log_normal + autograd_logdet(model.encode, x[i:i + 1]) - 16 * math.log(256)
        torch.testing.assert_close(lp[i], expected, rtol=1e-6, atol=1e-6)


def test_mnist_variant_shapes_and_temperature(data_root) -> None:
    model = genzoo.create_model("glow-mnist")
    x = mnist_test_images(data_root, 28, n=4)
    model.train()
    losses = model.nll(genzoo.core.phases.Batch(x))
    assert torch.isfinite(losses["loss"]) and 0 < losses["loss"].item() < 12
    assert all(bool(a.initialized) for a in actnorms(model))
    with torch.no_grad():
        g = torch.Generator().manual_seed
        s = model.sample(3, generator=g(0))
        assert s.shape == (3, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
        torch.testing.assert_close(s, model.sample(3, generator=g(0), temperature=0.7))
        torch.testing.assert_close(model.sample(3, generator=g(1), temperature=0.0),
                                   model.sample(3, generator=g(2), temperature=0.0))


def test_training_lowers_test_bits_per_dim(run, data_root) -> None:
    test_x = mnist_test_images(data_root, TINY["image_size"])
    before = mean_bpd(genzoo.create_model("glow", **TINY), test_x)
    after = mean_bpd(run.model, test_x)
    print(f"glow test bits/dim: {before:.3f} -> {after:.3f}")
    assert run.step == STEPS and math.isfinite(run.logs["nll.bpd"])
    assert after < before - 1.0, (before, after)


def test_loaded_model_keeps_its_actnorm_init_and_log_prob(run, data_root) -> None:
    x = mnist_test_images(data_root, TINY["image_size"], n=16)
    loaded = genzoo.create_model(str(run.run_dir))
    run.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(x), run.model.log_prob(x), rtol=0, atol=0)
    assert all(bool(a.initialized) for a in actnorms(loaded))
    before = [a.bias.detach().clone() for a in actnorms(loaded)]
    loaded.train()
    loaded.log_prob(x[:4] * 0.5)  # a training-mode pass on other data must not re-initialise
    for a, b in zip(actnorms(loaded), before):
        torch.testing.assert_close(a.bias.detach(), b, rtol=0, atol=0)


def test_resume_continues_exactly_as_an_uninterrupted_run(data_root, tmp_path) -> None:
    """3 steps + resume to 6 equals 6 straight steps: actnorm is not re-initialised on resume."""
    cfg = {"image_size": 8, "levels": 1, "steps": 2, "hidden": 8}
    straight = train_tiny("glow", cfg, tmp_path / "straight", data_root, 6, batch_size=16)
    train_tiny("glow", cfg, tmp_path / "split", data_root, 3, batch_size=16)
    resumed = genzoo.train(resume=tmp_path / "split", steps=6, data_root=data_root, progress=False)
    assert resumed.step == 6
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=k)
    # and a re-initialisation on resume would have been visible: actnorm moved away from its init
    fresh = train_tiny("glow", cfg, tmp_path / "one", data_root, 1, batch_size=16, seed=1)
    assert any(not torch.allclose(x.bias, y.bias) for x, y in zip(actnorms(fresh.model), actnorms(resumed.model)))
