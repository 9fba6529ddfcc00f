"""The VAE plugin on real MNIST (and CIFAR-10 sample images): shapes, losses, learning,
likelihood bounds, save/load, latent-space pictures."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

import genzoo
from genzoo.core.errors import CapabilityError, ConfigError

STEPS = 300
SMALL = {"hidden": (256,), "latent_dim": 16}
TRAIN = {"batch_size": 64, "sample_every": 0, "checkpoint_every": 0, "log_every": 50}




@pytest.fixture(scope="module")
def mnist_test(data_root) -> torch.Tensor:
    """500 held-out MNIST test digits as [0, 1] intensities (the VAE's input space)."""
    images = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root).images
    return images[:500].float() / 255


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("vae") / "run"
    return genzoo.train("vae-mlp-mnist", "mnist", steps=STEPS, out=out, config=SMALL, train=TRAIN,
                        data_root=data_root, progress=False)


def test_variants_and_capabilities():
    m = genzoo.create_model("vae-mnist")
    assert (m.config.arch, m.config.latent_dim, m.config.likelihood) == ("conv", 32, "bernoulli")
    assert genzoo.create_model("vae-mnist-2d").config.latent_dim == 2
    mlp = genzoo.create_model("vae-mlp-mnist").config
    # pytorch/examples' 784-400-20 shape at Adam 2e-3: ahead of that reference at equal steps (bench/reference.py).
    assert (mlp.arch, mlp.hidden, mlp.latent_dim, mlp.lr) == ("mlp", (400,), 20, 2e-3)
    c = genzoo.create_model("vae-cifar10").config
    assert (c.image_size, c.channels, c.likelihood, c.prior) == (32, 3, "gaussian", "fitted")
    assert {"sample", "log_prob", "reconstruct", "encode"} <= m.capabilities
    assert m.preprocessing.normalize == "zero_one"
    with pytest.raises(ConfigError, match="latent_dim"):
        genzoo.create_model("vae", latent_dim=0)
    with pytest.raises(ConfigError, match="arch"):
        genzoo.create_model("vae", arch="resnet")


@pytest.mark.parametrize("arch,likelihood,variance", [
    ("conv", "bernoulli", "learned"), ("mlp", "bernoulli", "learned"),
    ("conv", "gaussian", "learned"), ("mlp", "gaussian", "fixed"),
])
def test_shapes_losses_and_gradients(mnist_test, arch, likelihood, variance):
    torch.manual_seed(0)
    m = genzoo.create_model("vae", arch=arch, likelihood=likelihood, variance=variance, width=8,
                            hidden=(64,), latent_dim=8)
    x = mnist_test[:16]
    (phase,) = m.phases()
    losses = phase.loss(genzoo.core.phases.Batch(x))
    assert set(losses) == {"loss", "recon", "kl"} and all(torch.isfinite(v) for v in losses.values())
    assert losses["kl"] >= 0 and torch.allclose(losses["loss"], losses["recon"] + losses["kl"], rtol=1e-5)
    losses["loss"].backward()
    trainable = phase.parameters()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)
    assert any(p is m.log_sigma for p in trainable) == (likelihood == "gaussian" and variance == "learned")
    with torch.no_grad():
        mu, logvar = m.encode(x)
        assert mu.shape == logvar.shape == (16, 8)
        r = m.reconstruct(x)
        assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1
        s = m.sample(5, generator=torch.Generator().manual_seed(1))
        assert s.shape == (5, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
        lp = m.log_prob(x)
        assert lp.shape == (16,) and torch.isfinite(lp).all() and (lp < 0).all()


def test_discretized_gaussian_is_a_distribution_over_256_levels():
    from genzoo.plugins.vae.model import discretized_gaussian_log_prob

    levels = torch.arange(256, dtype=torch.float32).view(256, 1, 1, 1) / 255
    for mean, sigma in ((0.3, 0.05), (0.0, 0.2), (0.97, 1e-3), (-0.4, 0.1)):
        lp = discretized_gaussian_log_prob(levels, torch.full_like(levels, mean),
                                           torch.full_like(levels, math.log(sigma)))
        assert abs(float(torch.logsumexp(lp, 0))) < 1e-3, (mean, sigma)


def test_short_run_learns_held_out_likelihood(run, mnist_test):
    torch.manual_seed(0)  # genzoo.train seeds the same way, so this is the run's step-0 model
    start = genzoo.create_model("vae-mlp-mnist", **SMALL).eval()
    torch.manual_seed(1)
    before = start.nll(mnist_test, k=1).mean().item()
    torch.manual_seed(1)
    after = run.model.eval().nll(mnist_test, k=1).mean().item()
    # an untrained Bernoulli decoder scores ~784 ln 2 = 543 nats; a few hundred steps reach well under 200
    assert before > 500 and after < 200 and before - after > 300, (before, after)
    logs = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"vae.loss", "vae.recon", "vae.kl"} <= set(logs[-1])
    assert logs[-1]["vae.loss"] < logs[0]["vae.loss"] - 50


def test_iwae_bound_is_tighter_than_elbo(run, mnist_test):
    m, x = run.model.eval(), mnist_test[:200]
    torch.manual_seed(2)
    elbo = -m.nll(x, k=1)
    iwae = -m.nll(x, k=32, chunk=2048)
    assert iwae.mean() > elbo.mean() + 0.5, (iwae.mean(), elbo.mean())
    assert m.log_prob(x[:4]).shape == (4,)
    # evaluation binarises with a fixed seed: the same images always get the same targets
    assert torch.equal(m._eval_targets(x), m._eval_targets(x))
    assert set(m._eval_targets(x).unique().tolist()) <= {0.0, 1.0}


def test_save_load_round_trip(run, mnist_test):
    loaded = genzoo.create_model(str(run.run_dir))
    assert loaded.config == run.model.config and loaded.meta.name == "vae-mlp-mnist"
    with torch.no_grad():
        assert torch.equal(loaded.reconstruct(mnist_test[:32]), run.model.eval().reconstruct(mnist_test[:32]))
        g = (torch.Generator().manual_seed(3), torch.Generator().manual_seed(3))
        assert torch.equal(loaded.sample(8, generator=g[0]), run.model.sample(8, generator=g[1]))


def test_manifold_and_interpolation(run, mnist_test):
    two_d = genzoo.create_model("vae-mnist-2d", hidden=(32,)).eval()
    with torch.no_grad():
        grid = two_d.manifold(grid=6)
    assert grid.shape == (36, 1, 28, 28) and grid.min() >= -1 and grid.max() <= 1
    assert not torch.allclose(grid[0], grid[35])  # opposite corners of the latent plane differ
    with pytest.raises(CapabilityError, match="latent_dim=2"):
        run.model.manifold()
    m = run.model.eval()
    a, b = mnist_test[0], mnist_test[1]
    with torch.no_grad():
        path = m.interpolate(a, b, steps=7)
        assert path.shape == (7, 1, 28, 28)
        ends = m.reconstruct(torch.stack([a, b])) * 2 - 1
        assert torch.allclose(path[0], ends[0], atol=1e-5) and torch.allclose(path[-1], ends[1], atol=1e-5)
        assert m.interpolate(mnist_test[:3], mnist_test[3:6], steps=4).shape == (3, 4, 1, 28, 28)


def test_gaussian_vae_on_cifar_images(cifar_sample, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    files = sorted(p for p in cifar_sample.rglob("*.*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[::250]
    for f in files[:16]:
        shutil.copy(f, folder / f"{f.parent.name}-{f.name}")
    result = genzoo.train("vae-cifar10", str(folder), steps=4, out=tmp_path / "run",
                          config={"width": 8, "latent_dim": 8}, train={**TRAIN, "batch_size": 8},
                          preprocessing={"hflip": False}, progress=False)
    assert all(math.isfinite(v) for k, v in result.logs.items() if k.startswith("vae."))
    x = genzoo.load_data(str(folder), image_size=32, channels=3).images.float() / 255
    with torch.no_grad():
        bpd = -result.model.log_prob(x) / (3 * 32 * 32 * math.log(2))
        assert result.model.sample(2).shape == (2, 3, 32, 32)
    # a discrete likelihood of 8-bit images (bits/dim of a probability <= 1): positive and finite
    assert torch.isfinite(bpd).all() and (bpd > 0).all()
    assert not torch.allclose(result.model.log_sigma.detach(), torch.full((3,), math.log(0.1)))  # learned


def test_likelihood_levels_keep_binarised_and_8bit_bits_per_dim_apart():
    import genzoo

    assert genzoo.create_model("vae-mnist", likelihood="bernoulli").likelihood_levels == 2
    assert genzoo.create_model("vae-mnist", likelihood="gaussian").likelihood_levels == 256


def test_fitted_prior_follows_the_recent_codes():
    m = genzoo.create_model("vae", prior="fitted", arch="mlp", hidden=(8,), latent_dim=3)
    assert m.fitted_prior() is None  # N(0, I) until the first training batch
    g = torch.Generator().manual_seed(0)
    tril = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.3, 0.0], [-0.2, 0.1, 0.6]])
    posterior_var = torch.tensor([0.1, 0.2, 0.05])

    def feed(mean: torch.Tensor, images: int) -> None:
        for _ in range(images // 100):
            m.track_codes(mean + torch.randn(100, 3, generator=g) @ tril.T, posterior_var.log().expand(100, 3))

    feed(torch.tensor([5.0, -5.0, 0.0]), 20_000)
    mean = torch.tensor([1.0, 2.0, -1.0])
    feed(mean, 80_000)  # eight windows later the first codes weigh e^-8
    fit_mean, fit_tril = m.fitted_prior()
    # the aggregate posterior's covariance: the means' spread plus the mean posterior variance
    assert torch.allclose(fit_mean, mean, atol=0.05), fit_mean
    assert torch.allclose(fit_tril @ fit_tril.T, tril @ tril.T + torch.diag(posterior_var), atol=0.05)


def test_fitted_prior_improves_the_elbo_of_the_images_it_was_fitted_to(run, mnist_test):
    fitted = genzoo.create_model("vae-mlp-mnist", **SMALL, prior="fitted").eval()
    missing = fitted.load_state_dict(run.model.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["prior_outer", "prior_sum", "prior_var_sum", "prior_weight"]
    with torch.no_grad():
        fitted.track_codes(*fitted.encode(fitted._eval_targets(mnist_test)))  # one batch: its exact moments
        torch.manual_seed(4)
        standard = run.model.eval().nll(mnist_test, k=1).mean().item()
        torch.manual_seed(4)  # the same z: the nats differ only by log p(z)
        moment_matched = fitted.nll(mnist_test, k=1).mean().item()
    # the moment-matched Gaussian is the best Gaussian prior for these codes' average ELBO
    assert moment_matched < standard - 2.0, (moment_matched, standard)


def test_fitted_prior_trains_saves_and_loads(data_root, tmp_path, mnist_test):
    steps = 40
    result = genzoo.train("vae-mlp-mnist", "mnist", steps=steps, out=tmp_path / "run",
                          config={**SMALL, "prior": "fitted"}, train=TRAIN, data_root=data_root, progress=False)
    m = result.model.eval()
    window = sum(64 * math.exp(-64 * i / 10_000) for i in range(steps))  # every training image, decayed
    assert m.prior_weight.item() == pytest.approx(window, rel=1e-5)
    loaded = genzoo.create_model(str(result.run_dir))
    assert all(torch.equal(getattr(loaded, b), getattr(m, b))
               for b in ("prior_weight", "prior_sum", "prior_outer", "prior_var_sum"))
    standard = genzoo.create_model("vae-mlp-mnist", **SMALL)
    standard.load_state_dict(m.state_dict(), strict=False)
    assert not any(k.startswith("prior_") for k in standard.state_dict())  # older folders load unchanged
    with torch.no_grad():
        draws = [model.eval().sample(8, generator=torch.Generator().manual_seed(5)) for model in (m, loaded, standard)]
        assert torch.equal(draws[0], draws[1]) and not torch.allclose(draws[0], draws[2])
        assert torch.isfinite(m.nll(mnist_test[:50], k=4)).all()
