"""PixelCNN: causal masks (checked by autograd), exact log-likelihood, save/load, learning on real
MNIST, and the cropped sampler agreeing with the naive one."""

from __future__ import annotations

import json
import math

import pytest
import torch

import genzoo
from genzoo.core.errors import ConfigError
from genzoo.core.phases import Batch

TINY = {"hidden": 6, "layers": 2, "first_kernel": 3, "kernel": 3}




def tiny(arch: str, channels: int, size: int = 5, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return genzoo.create_model("pixelcnn", arch=arch, channels=channels, image_size=size, **{**TINY, **kw})


def mnist(data_root, split: str, size: int, n: int) -> torch.Tensor:
    images = genzoo.load_data("mnist", image_size=size, channels=1, split=split, root=data_root).images
    return images[:n].float()


def dependence(model, channels: int, size: int, draws: int = 3) -> torch.Tensor:
    """dep[o, q] = sum over a few random images of |d logits at sub-pixel o / d input sub-pixel q|,
    sub-pixels numbered in autoregressive order (raster order, then R, G, B within a pixel).

    One backward pass: the batch holds one copy of each image per output sub-pixel o, and copy o
    back-propagates only from o's logits (images in a batch do not interact). Several random
    images make a ReLU that happens to be dead for one of them not look like a masked weight."""
    n = size * size * channels
    torch.manual_seed(1)
    x = torch.randint(0, 256, (draws, 1, channels, size, size)).float().expand(-1, n, -1, -1, -1)
    x = x.reshape(draws * n, channels, size, size).clone().requires_grad_(True)
    logits = model.logits(x).view(draws, n, channels, 256, size, size)
    o = torch.arange(n)
    i, j, k = o // (size * channels), (o // channels) % size, o % channels
    logits[:, o, k, :, i, j].sum().backward()
    grad = x.grad.view(draws, n, channels, size, size).permute(0, 1, 3, 4, 2).reshape(draws, n, n)
    return grad.abs().sum(0).double()


@pytest.mark.parametrize("arch", ["pixelcnn", "gated"])
@pytest.mark.parametrize("channels", [1, 3])
def test_masks_are_causal(arch, channels):
    size = 5
    model = tiny(arch, channels, size, hidden=8 * channels)
    dep = dependence(model, channels, size)
    n = dep.shape[0]
    later_or_same = torch.ones(n, n).triu().bool()  # q >= o: the sub-pixel itself and everything after it
    assert dep[later_or_same].abs().max() == 0, "an output depends on its own or a later sub-pixel"
    # ... and it does use what it may: the pixels left of and above it, every channel of them, and the
    # earlier channels of its own pixel (G sees R, B sees R and G: the within-pixel order R | G | B)
    index = lambda i, j, k: (i * size + j) * channels + k  # noqa: E731
    for i in range(size):
        for j in range(size):
            for k in range(channels):
                o = index(i, j, k)
                assert all(dep[o, index(i, j, q)] > 0 for q in range(k)), (i, j, k)
                if j > 0:
                    assert all(dep[o, index(i, j - 1, q)] > 0 for q in range(channels)), (i, j, k)
                if i > 0:
                    assert all(dep[o, index(i - 1, j, q)] > 0 for q in range(channels)), (i, j, k)


def test_gated_has_no_blind_spot_and_pixelcnn_has_one():
    size = 5  # with enough layers to reach the whole 5x5 image from its last pixel
    gated = dependence(tiny("gated", 1, size, layers=3, hidden=8), 1, size)
    plain = dependence(tiny("pixelcnn", 1, size, layers=3, hidden=8), 1, size)
    last, up_right = 4 * size + 1, 3 * size + 4  # output (4, 1); input (3, 4): one row up, three to the right
    assert gated[last, up_right] > 0
    assert plain[last, up_right] == 0  # the PixelCNN blind spot
    strictly_before = torch.ones_like(gated).tril(-1).bool()
    assert (gated[-1][strictly_before[-1]] > 0).all(), "the gated model's last pixel misses an earlier pixel"


def test_exact_log_prob_equals_per_subpixel_log_softmax(data_root):
    model = tiny("pixelcnn", 1, 12)
    x = mnist(data_root, "test", 12, 4)
    logits = model.logits(x).double()
    expected = torch.zeros(4, dtype=torch.float64)
    for b in range(4):
        for i in range(12):
            for j in range(12):
                level = int(x[b, 0, i, j])
                expected[b] += torch.log_softmax(logits[b, 0, :, i, j], 0)[level]
    got = model.log_prob(x)
    assert got.shape == (4,) and torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-3)
    losses = model.nll(Batch(x))
    assert torch.isfinite(losses["loss"])
    # the training loss is the same quantity per sub-pixel; bits/dim is it over ln 2
    torch.testing.assert_close(losses["loss"].double(), -expected.mean() / 144, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(losses["bits_per_dim"], losses["loss"] / math.log(2))


def test_conditional_on_real_labels(data_root):
    test = genzoo.load_data("mnist", image_size=8, channels=1, split="test", root=data_root)
    images, labels = test.images[:3].float(), test.labels[:3]
    model = tiny("gated", 1, 8, num_classes=10)
    assert "conditional" in model.capabilities
    assert model.logits(images, labels).shape == (3, 1, 256, 8, 8)
    lp = model.log_prob(images, labels)
    assert lp.shape == (3,) and torch.isfinite(lp).all()
    # the class bias is initialised randomly, so other labels give other likelihoods
    assert not torch.allclose(lp, model.log_prob(images, (labels + 1) % 10))
    s = model.sample(2, labels=torch.tensor([1, 7]), generator=torch.Generator().manual_seed(0))
    assert s.shape == (2, 1, 8, 8) and s.min() >= -1 and s.max() <= 1
    with pytest.raises(genzoo.GenzooError, match="labels"):
        model.log_prob(images)
    assert "conditional" not in tiny("gated", 1, 8).capabilities


@pytest.mark.parametrize("arch", ["pixelcnn", "gated"])
def test_window_logits_equal_full_image_logits(arch):
    """What makes the cropped sampler exact: the network on the window around (i, j) gives the
    logits at (i, j) the whole image gives; one row or column less than ``reach`` does not."""
    size = 9
    model = tiny(arch, 3, size, layers=1, hidden=12).eval()
    x = torch.randint(0, 256, (2, 3, size, size)).float()
    with torch.no_grad():
        full = model.logits(x)
        worst_exact, worst_short = 0.0, 0.0
        for i in range(size):
            for j in range(size):
                for reach, name in ((model.reach, "exact"), (model.reach - 1, "short")):
                    top, bottom, left, right = model.window(i, j, reach)
                    part = model.logits(x[:, :, top:bottom, left:right])[..., i - top, j - left]
                    err = float((part - full[..., i, j]).abs().max())
                    if name == "exact":
                        worst_exact = max(worst_exact, err)
                    else:
                        worst_short = max(worst_short, err)
    assert worst_exact < 1e-4
    assert worst_short > 1e-3


@pytest.mark.parametrize("arch,channels", [("pixelcnn", 1), ("gated", 1), ("gated", 3), ("pixelcnn", 3)])
def test_cropped_sampler_matches_naive(arch, channels):
    size = 9  # larger than twice the reach (3 or 4), so the window really is cropped on every side
    model = tiny(arch, channels, size, layers=1).eval()
    assert 2 * model.reach + 1 < size
    fast = model.sample(3, generator=torch.Generator().manual_seed(5), sampler="cropped")
    slow = model.sample(3, generator=torch.Generator().manual_seed(5), sampler="naive")
    assert fast.shape == (3, channels, size, size)
    assert torch.equal(fast, slow)
    assert fast.unique().numel() > 10  # a random-init model samples many levels, not a constant image
    other = model.sample(3, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(fast, other)


def test_sampling_options_are_not_part_of_the_config(tmp_path):
    """sampler and temperature change how one call samples; the config, and its config.json, stay as they were."""
    model = tiny("gated", 1, 6, layers=1).eval()
    saved = (model.save_pretrained(tmp_path / "a") / "config.json").read_text()
    g = torch.Generator().manual_seed
    default = model.sample(4, generator=g(5))
    torch.testing.assert_close(default, model.sample(4, generator=g(5), sampler="naive", temperature="1"))
    cold = model.sample(4, generator=g(5), temperature=1e-4)
    assert not torch.equal(cold, default)
    # a near-zero temperature is nearly the argmax: samples from different seeds agree almost everywhere
    assert (cold != model.sample(4, generator=g(6), temperature=1e-4)).float().mean() < 0.1
    assert not hasattr(model.config, "sampler")
    assert (model.save_pretrained(tmp_path / "b") / "config.json").read_text() == saved
    with pytest.raises(ConfigError, match="temperature=0.0 is not allowed: positive"):
        model.sample(1, temperature=0)
    with pytest.raises(ConfigError, match="sampler='fast' is not allowed"):
        model.sample(1, sampler="fast")


def test_folders_saved_with_a_config_sampler_still_load(tmp_path):
    """Before sampling options, config.json carried "sampler"; both samplers draw the same images, so it is dropped."""
    model = tiny("pixelcnn", 1, 5, layers=1).eval()
    path = model.save_pretrained(tmp_path / "old") / "config.json"
    info = json.loads(path.read_text())
    info["config"]["sampler"] = "naive"
    path.write_text(json.dumps(info))
    loaded = genzoo.create_model(str(tmp_path / "old"))
    assert not hasattr(loaded.config, "sampler") and loaded.config == model.config
    g = torch.Generator().manual_seed
    assert torch.equal(loaded.sample(2, generator=g(0)), model.sample(2, generator=g(0)))


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    config = {"image_size": 12, "hidden": 16, "layers": 2, "first_kernel": 5, "lr": 3e-3}
    out = tmp_path_factory.mktemp("pixelcnn") / "run"
    result = genzoo.train("pixelcnn", "mnist", steps=80, out=out, config=config, data_root=data_root,
                          train={"batch_size": 32, "sample_grid": 4, "log_every": 40, "checkpoint_every": 0},
                          progress=False)
    torch.manual_seed(0)
    return result, genzoo.create_model("pixelcnn", **config), mnist(data_root, "test", 12, 256)


def bits_per_dim(model, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(-model.log_prob(x).mean() / (x[0].numel() * math.log(2)))


def test_short_training_learns_on_real_mnist(trained):
    result, untrained, test = trained
    before, after = bits_per_dim(untrained.eval(), test), bits_per_dim(result.model.eval(), test)
    assert before > 6.0  # roughly uniform over 256 levels at initialisation
    assert after < 0.6 * before, (before, after)
    assert after < 4.5, after
    assert (result.run_dir / "pretrained" / "model.safetensors").is_file()


def test_save_load_round_trip(trained):
    result, _, test = trained
    loaded = genzoo.create_model(str(result.run_dir))
    assert loaded.config == result.model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(test[:16]), result.model.eval().log_prob(test[:16]), rtol=0, atol=0)
