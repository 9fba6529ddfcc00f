"""WGAN-GP on real MNIST, and the gradient penalty against cases solved by hand."""

from __future__ import annotations

import math

import pytest
import torch
from gan_quality import fd_to_data, real_images, same_samples, short_run, untrained

import genzoo
from genzoo.core.errors import ConfigError
from genzoo.core.penalties import gradient_penalty, interpolates

SMALL = {"g_width": 16, "d_width": 16, "lr_g": 3e-4, "lr_d": 3e-4}
STEPS = 50


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return short_run("wgan-gp-mnist", data_root, tmp_path_factory.mktemp("wgan") / "run", steps=STEPS, config=SMALL)


def _linear_critic(w: torch.Tensor):
    return lambda x: (x.flatten(1) * w.flatten()).sum(1)


@pytest.mark.parametrize("norm", [1.0, 0.25, 3.0])
def test_penalty_of_a_linear_critic_is_its_squared_lipschitz_gap(norm):
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, 1, 6, 6, generator=g), torch.randn(8, 1, 6, 6, generator=g)
    w = torch.randn(1, 6, 6, generator=g, dtype=torch.float64)
    w = w / w.norm() * norm
    # grad_x <w, x> = w everywhere, so the penalty is (||w|| - 1)^2 wherever the interpolates fall.
    gp = gradient_penalty(_linear_critic(w), real.double(), fake.double())
    assert gp.item() == pytest.approx((norm - 1) ** 2, abs=1e-12)


def test_penalty_of_a_quadratic_critic_and_its_gradient_wrt_weights():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(6, 2, 3, 3, generator=g), torch.randn(6, 2, 3, 3, generator=g)
    a = torch.tensor(0.7, requires_grad=True)
    critic = lambda x: 0.5 * a * x.flatten(1).pow(2).sum(1)  # noqa: E731 - grad_x = a * x
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    x_hat = interpolates(real, fake, torch.Generator().manual_seed(5))
    norms = x_hat.flatten(1).norm(dim=1)
    assert gp.item() == pytest.approx(((0.7 * norms - 1) ** 2).mean().item(), rel=1e-5)
    # Differentiable in the critic's weights (double back-propagation): d/da = mean 2 (a|x| - 1) |x|.
    gp.backward()
    assert a.grad.item() == pytest.approx((2 * (0.7 * norms - 1) * norms).mean().item(), rel=1e-5)
    # Interpolates lie on the segment between each real/fake pair, one uniform mix per image.
    eps = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(x_hat, fake + eps * (real - fake), atol=1e-6)


def test_penalty_passes_labels_to_conditional_critics():
    seen = {}

    def critic(x, labels):
        seen["labels"] = labels
        return x.flatten(1).sum(1)

    labels = torch.tensor([3, 1])
    gradient_penalty(critic, torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2), labels)
    assert seen["labels"] is labels


def test_paper_defaults_and_no_batch_norm_in_the_critic():
    model = genzoo.create_model("wgan-gp-mnist")
    d, g = model.phases()
    assert (d.name, d.repeats, d.optim.lr, d.optim.betas) == ("d", 5, 1e-4, (0.0, 0.9))
    assert (g.name, g.repeats, g.optim.lr, g.optim.betas) == ("g", 1, 1e-4, (0.0, 0.9))
    assert model.config.gp_weight == 10.0 and model.config.drift == 1e-3
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.critic.modules())
    assert any(isinstance(m, torch.nn.GroupNorm) for m in model.critic.modules())
    x = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and model.critic(x).shape == (4,)
    assert genzoo.create_model("wgan-gp-cifar10", **SMALL).sample(2).shape == (2, 3, 32, 32)
    with pytest.raises(ConfigError, match="critic_norm"):
        genzoo.create_model("wgan-gp-mnist", critic_norm="batch")


def test_critic_loss_terms_on_a_real_batch(data_root):
    from genzoo.core.phases import Batch

    torch.manual_seed(0)
    model = genzoo.create_model("wgan-gp-mnist", **SMALL)
    images = real_images(data_root, 16, split="train")[0]
    losses = model.critic_loss(Batch(images))
    assert set(losses) == {"loss", "wasserstein", "gp"}
    expected = -losses["wasserstein"] + 10 * losses["gp"]
    # The drift term is tiny but present: loss = -W + lambda GP + 1e-3 E[D(real)^2].
    drift = 1e-3 * model.critic(images).pow(2).mean()
    assert losses["loss"].item() == pytest.approx((expected + drift).item(), rel=1e-4, abs=1e-6)


def test_training_logs_finite_losses(run):
    assert run.step == STEPS
    for key in ("d.loss", "d.wasserstein", "d.gp", "g.loss"):
        assert math.isfinite(run.logs[key]), (key, run.logs)
    # The critic learned to score real images above generated ones.
    assert run.logs["d.wasserstein"] > 0


def test_save_load_round_trip(run):
    loaded = genzoo.create_model(str(run.run_dir), variant="raw")
    assert same_samples(loaded, run.model)
    assert not same_samples(loaded, untrained("wgan-gp-mnist", SMALL))


def test_short_run_moves_samples_toward_the_data(run, data_root):
    test_images = real_images(data_root, 1000)[0]
    before = fd_to_data(untrained("wgan-gp-mnist", SMALL), test_images)
    after = fd_to_data(genzoo.create_model(str(run.run_dir)), test_images)
    assert after < 0.6 * before, (before, after)
