"""The vanilla (MLP) GAN on real MNIST: shapes, losses, save/load, and that a short run learns."""

from __future__ import annotations

import math

import pytest
import torch
from gan_quality import fd_to_data, real_images, same_samples, short_run, untrained

import genzoo
from genzoo.core.errors import ConfigError
from genzoo.core.rundir import RunDir
from genzoo.core.tensorfile import load_tensors

SMALL = {"g_hidden": (128, 256), "d_hidden": (256, 128)}
STEPS = 80


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return short_run("vanilla-gan-mnist", data_root, tmp_path_factory.mktemp("vgan") / "run",
                     steps=STEPS, config=SMALL)


@pytest.fixture(scope="module")
def test_images(data_root):
    return real_images(data_root, 1000)[0]


def test_shapes_ranges_and_architecture():
    model = genzoo.create_model("vanilla-gan-mnist")
    x = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert model.discriminator(x).shape == (5,)
    # The classic baseline: 100 -> 256 -> 512 -> 1024 -> 784 and 784 -> 1024 -> 512 -> 256 -> 1.
    g = [m.out_features for m in model.generator.modules() if isinstance(m, torch.nn.Linear)]
    d = [m.out_features for m in model.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert g == [256, 512, 1024, 784] and d == [1024, 512, 256, 1]
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.3 for m in model.discriminator.modules())
    # Batch norm after the generator's hidden layers but the first (PyTorch-GAN's gan.py; bench/reference.py).
    norms = [m.num_features for m in model.generator.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert norms == [512, 1024]
    # The base model keeps the plain generator, so folders saved before g_norm existed still load.
    plain = genzoo.create_model("vanilla-gan")
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.generator.modules())
    rgb = genzoo.create_model("vanilla-gan-cifar10", **SMALL)
    assert rgb.sample(2).shape == (2, 3, 32, 32)
    assert model.ema_modules == ("generator",)
    betas = {p.name: (p.optim.lr, p.optim.betas) for p in model.phases()}
    assert betas == {"d": (2e-4, (0.5, 0.999)), "g": (2e-4, (0.5, 0.999))}


def test_config_is_validated():
    with pytest.raises(ConfigError, match="dropout"):
        genzoo.create_model("vanilla-gan-mnist", dropout=1.5)
    with pytest.raises(ConfigError, match="g_hidden"):
        genzoo.create_model("vanilla-gan-mnist", g_hidden=())


def test_training_logs_finite_losses(run):
    assert run.step == STEPS
    for key in ("d.loss", "g.loss", "d.real", "d.fake"):
        assert math.isfinite(run.logs[key]), (key, run.logs)
    # The discriminator separates real from fake a little (real logits above fake ones).
    assert run.logs["d.real"] > run.logs["d.fake"]


def test_save_load_round_trip(run):
    """The raw variant samples exactly as the trained model does; the default variant is the trainer's
    EMA of the generator (as its final checkpoint recorded it), which after 80 steps is not the raw one."""
    raw = genzoo.create_model(str(run.run_dir), variant="raw")
    assert same_samples(raw, run.model)
    assert not same_samples(raw, untrained("vanilla-gan-mnist", SMALL))
    default = genzoo.create_model(str(run.run_dir))
    checkpoint, _ = load_tensors(RunDir(run.run_dir).checkpoint)
    averaged = {k.removeprefix("ema."): v for k, v in checkpoint.items() if k.startswith("ema.")}
    assert averaged and all(k.startswith("generator.") for k in averaged)
    state = default.state_dict()
    for key, value in averaged.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)
    assert not same_samples(default, raw)
    assert same_samples(default, genzoo.create_model(str(run.run_dir), variant="ema"))


def test_short_run_moves_samples_toward_the_data(run, test_images):
    before = fd_to_data(untrained("vanilla-gan-mnist", SMALL), test_images)
    after = fd_to_data(genzoo.create_model(str(run.run_dir)), test_images)
    assert after < 0.5 * before, (before, after)
