"""RealNVP on real MNIST: shapes, exact inverse, exact log-det, save/load, and that it learns."""

from __future__ import annotations

import math

import pytest
import torch
from flow_helpers import autograd_logdet, mean_bpd, mnist_test_images, perturb, train_tiny

import genzoo
from genzoo.core.flows import gaussian_log_density

TINY = {"image_size": 14, "n_scales": 2, "couplings": 2, "n_blocks": 1, "hidden": 16, "lr": 3e-3}
STEPS = 40


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return train_tiny("realnvp", TINY, tmp_path_factory.mktemp("realnvp") / "run", data_root, STEPS)


def test_mnist_variant_shapes_losses_and_samples(data_root) -> None:
    model = genzoo.create_model("realnvp-mnist")
    assert {"sample", "log_prob", "encode"} <= model.capabilities
    x = mnist_test_images(data_root, 28, n=4)
    lp = model.log_prob(x)
    assert lp.shape == (4,) and torch.isfinite(lp).all()
    bpd = -lp / (784 * math.log(2))
    assert (bpd > 1).all() and (bpd < 12).all()  # untrained: a few bits/dim, finite and sane
    losses = model.nll(genzoo.core.phases.Batch(x))
    torch.testing.assert_close(losses["loss"], bpd.mean())
    with torch.no_grad():
        s = model.sample(3, generator=torch.Generator().manual_seed(0))
        again = model.sample(3, generator=torch.Generator().manual_seed(0), temperature=0.7)
    assert s.shape == (3, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    torch.testing.assert_close(s, again)  # 0.7 is the default of the sampling option


def test_whole_model_inverts_and_its_density_is_the_change_of_variables(data_root) -> None:
    """On 1x4x4 real digits, with weights moved off their identity init: x -> z -> x, and
    log p(x) = log N(z) + log|det dz/dx| - D log 256 with the Jacobian from autograd."""
    model = genzoo.create_model("realnvp", image_size=4, n_scales=2, couplings=2, n_blocks=1, hidden=8).double()
    perturb(model, scale=0.2)
    model.eval()
    x = mnist_test_images(data_root, 4, n=3).double()
    z = model.encode(x)
    assert (model.decode(z) - x).abs().max() < 1e-4
    lp = model.log_prob(x)
    for i in range(3):
        expected = (gaussian_log_density(z[i]).sum() + autograd_logdet(model.encode, x[i:i + 1])
                    - 16 * math.log(256))
        torch.testing.assert_close(lp[i], expected, rtol=1e-6, atol=1e-6)


def test_training_lowers_test_bits_per_dim(run, data_root) -> None:
    test_x = mnist_test_images(data_root, TINY["image_size"])
    before = mean_bpd(genzoo.create_model("realnvp", **TINY), test_x)
    after = mean_bpd(run.model, test_x)
    assert run.step == STEPS and math.isfinite(run.logs["nll.bpd"])
    print(f"realnvp test bits/dim: {before:.3f} -> {after:.3f}")
    assert after < before - 1.0, (before, after)


def test_saved_run_reloads_with_identical_log_prob(run, data_root) -> None:
    x = mnist_test_images(data_root, TINY["image_size"], n=16)
    loaded = genzoo.create_model(str(run.run_dir))
    run.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(x), run.model.log_prob(x), rtol=0, atol=0)
    assert (run.run_dir / "pretrained" / "samples.png").is_file()
