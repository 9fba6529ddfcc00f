"""The conditional GAN on real MNIST: labels reach both players, sampling honours them,
save/load, the per-class CLI grid, and that a short run learns."""

from __future__ import annotations

import math

import pytest
import torch
from click.testing import CliRunner
from gan_quality import fd_to_data, model_samples, pooled_pixels, real_images, same_samples, short_run, untrained
from PIL import Image

import genzoo
from genzoo.cli import cli
from genzoo.core.errors import ConfigError, DataError, GenzooError
from genzoo.core.phases import Batch

SMALL = {"g_width": 16, "d_width": 16, "embed_dim": 10}
STEPS = 300  # enough for class adherence to show (see test_short_run_draws_the_asked_for_class)


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return short_run("cgan-mnist", data_root, tmp_path_factory.mktemp("cgan") / "run", steps=STEPS, config=SMALL)


@pytest.mark.parametrize("kind", ["projection", "concat"])
def test_both_discriminators_see_the_label(kind):
    torch.manual_seed(0)
    aux = {} if kind == "projection" else {"aux_weight": 0.0}  # concat's features see the label already
    model = genzoo.create_model("cgan-mnist", discriminator=kind, **SMALL, **aux)
    labels = torch.arange(6) % 10
    x = model.sample(6, labels=labels, generator=torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    if kind == "projection":  # the class term starts tiny (N(0, 0.02) embeddings); make it visible
        torch.nn.init.normal_(model.discriminator.projection.embed.weight)
    out = model.discriminator(x, labels)
    assert out.shape == (6,)
    assert not torch.allclose(out, model.discriminator(x, (labels + 1) % 10))


def test_projection_logit_is_unconditional_head_plus_inner_product():
    torch.manual_seed(0)
    model = genzoo.create_model("cgan-mnist", **SMALL).eval()
    d = model.discriminator
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([0, 4, 9])
    phi = d.net.features(x)
    expected = d.net.head(phi).view(-1) + (d.projection.embed.weight[y] * phi.sum((2, 3))).sum(1)
    assert torch.allclose(d(x, y), expected, atol=1e-5)


def test_twin_classifier_learns_the_fakes_classes_and_pushes_g_against_it():
    """TAC-GAN: the twin head is trained on fakes in D's phase, and G's class loss is the first head's
    cross-entropy minus the twin's, so making the twin right costs G what making the first head right earns."""
    torch.manual_seed(0)
    model = genzoo.create_model("cgan-mnist", twin_classifier=True, **SMALL)
    batch = Batch(torch.rand(8, 1, 28, 28) * 2 - 1, torch.arange(8) % 10)
    d = model.discriminator
    d_losses = model.d_loss(batch)
    d_losses["loss"].backward()
    assert d.twin.embed.weight.grad.abs().sum() > 0 and "twin_ce" in d_losses
    plain = genzoo.create_model("cgan-mnist", **SMALL)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "twin" not in k})
    torch.manual_seed(1)
    g_losses = model.g_loss(batch)
    torch.manual_seed(1)
    expected = plain.g_loss(batch)["loss"] - model.config.aux_weight * g_losses["twin_ce"]
    assert torch.allclose(g_losses["loss"], expected, atol=1e-5)
    with pytest.raises(ConfigError, match="twin_classifier"):
        genzoo.create_model("cgan-mnist", twin_classifier=True, aux_weight=0.0)
    assert genzoo.create_model("cgan-mnist", **SMALL).discriminator.twin is None  # off: the recipe's weights


def test_sampling_honours_labels_and_checks_them():
    torch.manual_seed(0)
    model = genzoo.create_model("cgan-mnist", **SMALL).eval()
    seven = torch.full((4,), 7)
    a = model.sample(4, labels=seven, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, labels=seven, generator=torch.Generator().manual_seed(1))
    c = model.sample(4, labels=torch.full((4,), 2), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    # Without labels, classes are drawn from the given generator: reproducible too.
    assert torch.equal(model.sample(5, generator=torch.Generator().manual_seed(2)),
                       model.sample(5, generator=torch.Generator().manual_seed(2)))
    with pytest.raises(GenzooError, match=r"\[0, 10\)"):
        model.sample(2, labels=torch.tensor([1, 10]))
    with pytest.raises(GenzooError, match="shape"):
        model.sample(3, labels=torch.tensor([1, 2]))
    with pytest.raises(DataError, match="labels"):
        model.d_loss(Batch(torch.zeros(2, 1, 28, 28)))


def test_training_logs_finite_losses(run):
    assert run.step == STEPS
    for key in ("d.loss", "g.loss", "d.real", "d.fake"):
        assert math.isfinite(run.logs[key]), (key, run.logs)


def test_save_load_round_trip(run):
    loaded = genzoo.create_model(str(run.run_dir), variant="raw")
    labels = torch.arange(16) % 10
    assert same_samples(loaded, run.model, labels=labels)
    assert loaded.config == run.model.config and "conditional" in loaded.capabilities
    assert not same_samples(loaded, untrained("cgan-mnist", SMALL), labels=labels)


def test_short_run_draws_the_asked_for_class(run, data_root):
    """Class conditioning, end to end on real MNIST: digits drawn for class k must be read as k.

    The reader is a logistic regression on 14x14 pooled pixels fit on 2,000 real training
    digits (~86% right on real test digits; trains in under a second). Chance is 10%, and a
    generator that ignores its label, or one trained on labels misaligned with their images,
    stays there; this 300-step run at width 16 reaches ~37% (bench/cgan_adherence.py
    measures the full recipe with the zoo's LeNet).
    """
    torch.manual_seed(0)
    real, real_labels = real_images(data_root, 2000, split="train")
    reader = torch.nn.Linear(14 * 14, 10)
    opt = torch.optim.Adam(reader.parameters(), lr=1e-2)
    feats = pooled_pixels(real, 14).float()
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(reader(feats), real_labels).backward()
        opt.step()
    labels = torch.arange(10).repeat_interleave(30)

    @torch.no_grad()
    def adherence(model) -> float:
        pred = reader(pooled_pixels(model_samples(model, len(labels), labels=labels), 14).float()).argmax(1)
        return float((pred == labels).float().mean())

    assert adherence(untrained("cgan-mnist", SMALL)) < 0.2
    assert adherence(genzoo.create_model(str(run.run_dir))) > 0.25


def test_short_run_moves_samples_toward_the_data(run, data_root):
    test_images = real_images(data_root, 1000)[0]
    labels = torch.arange(500) % 10
    before = fd_to_data(untrained("cgan-mnist", SMALL), test_images, labels=labels)
    model = genzoo.create_model(str(run.run_dir))
    after = fd_to_data(model, test_images, labels=labels)
    assert after < 0.6 * before, (before, after)


def test_cli_per_class_grid(run, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["sample", str(run.run_dir), "--per-class", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "10 classes x 3" in result.output
    # One row per class, 3 images per row: 28-pixel images with 2-pixel padding.
    assert Image.open(out).size == (3 * 30 + 2, 10 * 30 + 2)
    both = CliRunner().invoke(cli, ["sample", str(run.run_dir), "--per-class", "2", "--label", "1"])
    assert both.exit_code != 0 and "--per-class" in both.output
    bad = CliRunner().invoke(cli, ["sample", str(run.run_dir), "--label", "12", "--out", str(out)])
    assert bad.exit_code != 0 and "out of range" in bad.output


def test_cli_per_class_needs_a_conditional_model(tmp_path):
    result = CliRunner().invoke(cli, ["sample", "vanilla-gan-mnist", "--per-class", "2",
                                      "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "conditional" in result.output
