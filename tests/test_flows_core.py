"""genzoo.core.flows: every step inverts exactly and reports the log-det its Jacobian has."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
from flow_helpers import autograd_logdet, dequantized, perturb
from torch import nn

import genzoo
from genzoo.core.errors import ConfigError
from genzoo.core.flows import (
    AffineCoupling,
    FactorOut,
    FlowSequence,
    GaussianPrior,
    LogitTransform,
    MultiScaleFlow,
    Squeeze,
    bits_per_dim,
    checkerboard_mask,
    discrete_log_prob,
    gaussian_log_density,
    squeeze,
    unsqueeze,
)


@pytest.fixture(scope="module")
def digits4(data_root) -> torch.Tensor:
    """Real MNIST test digits at 4x4 (one channel), dequantised, float64."""
    images = genzoo.load_data("mnist", image_size=4, channels=1, split="test", root=data_root).images[:8]
    return dequantized(images).double()


def small_net(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, cout, 3, padding=1))


def steps_under_test(name: str) -> tuple[nn.Module, int]:
    """A step and the channel count of its input (4x4 images; channel couplings need 2+)."""
    torch.manual_seed(0)
    if name == "squeeze":
        return Squeeze(), 1
    if name == "logit":
        return LogitTransform(0.05), 1
    if name == "checkerboard-tanh":
        return AffineCoupling(small_net(1, 2), 1, mask=checkerboard_mask(4), scale="tanh"), 1
    if name == "checkerboard-flip-tanh":
        return AffineCoupling(small_net(2, 4), 2, mask=checkerboard_mask(4, flip=True), scale="tanh"), 2
    if name == "channel-tanh-flip":
        return AffineCoupling(small_net(1, 2), 2, flip=True, scale="tanh"), 2
    if name == "channel-sigmoid":
        return AffineCoupling(small_net(1, 4), 3, scale="sigmoid"), 3  # odd split: 1 channel conditions 2
    raise KeyError(name)


STEPS = ["squeeze", "logit", "checkerboard-tanh", "checkerboard-flip-tanh", "channel-tanh-flip", "channel-sigmoid"]


@pytest.mark.parametrize("name", STEPS)
def test_step_inverts_and_logdet_matches_autograd_jacobian(name: str, digits4: torch.Tensor) -> None:
    step, channels = steps_under_test(name)
    step = step.double()
    perturb(step, scale=0.3)
    x = digits4[:2].repeat(1, channels, 1, 1)
    if name != "logit":
        x = x * 4 - 2  # couplings act on unbounded values, not pixels
    x[1] = x[1].flip(-1) + 0.1 * torch.arange(channels, dtype=x.dtype).view(-1, 1, 1)
    y, logdet = step(x)
    assert logdet.shape == (2,)
    back, inv_logdet = step.inverse(y)
    assert (back - x).abs().max() < 1e-4
    torch.testing.assert_close(inv_logdet, -logdet)
    for i in range(2):
        expected = autograd_logdet(lambda v: step(v)[0], x[i:i + 1])
        torch.testing.assert_close(logdet[i], expected, rtol=1e-6, atol=1e-6)
    if name.startswith(("checkerboard", "channel")):
        assert logdet.abs().min() > 1e-3, "the perturbed coupling should not be volume-preserving"


def test_squeeze_moves_each_2x2_patch_into_channels() -> None:
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float32).view(2, 2, 4, 4)
    y = squeeze(x)
    assert y.shape == (2, 8, 2, 2)
    # channel c's top-left patch becomes channels 4c..4c+3 at position (0, 0), row-major
    torch.testing.assert_close(y[1, 4:8, 0, 0], x[1, 1, 0:2, 0:2].flatten())
    torch.testing.assert_close(unsqueeze(y), x)


def test_checkerboard_masks_are_complementary() -> None:
    a, b = checkerboard_mask(6), checkerboard_mask(6, flip=True)
    torch.testing.assert_close(a + b, torch.ones(1, 1, 6, 6))
    assert a[0, 0, 0, 0] == 1 and a[0, 0, 0, 1] == 0 and a[0, 0, 1, 1] == 1


def test_gaussian_log_density_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    x, mean, log_std = torch.randn(3, 5), torch.randn(3, 5), 0.5 * torch.randn(3, 5)
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(x)
    torch.testing.assert_close(gaussian_log_density(x, mean, log_std), expected)
    torch.testing.assert_close(gaussian_log_density(x), torch.distributions.Normal(0.0, 1.0).log_prob(x))


def test_uniform_density_on_the_unit_cube_is_eight_bits_per_dim() -> None:
    """The bookkeeping convention: density 1 on [0, 1)^D -> every 8-bit image has probability 256^-D."""
    d = 784
    lp = discrete_log_prob(torch.zeros(3), d)
    torch.testing.assert_close(lp, torch.full((3,), -d * math.log(256)))
    torch.testing.assert_close(bits_per_dim(lp, d), torch.full((3,), 8.0))


def tiny_multiscale(conditional: bool) -> MultiScaleFlow:
    """1x4x4 -> [checkerboard coupling, squeeze, channel coupling] -> split -> [channel coupling]."""
    torch.manual_seed(0)
    level0 = FlowSequence([AffineCoupling(small_net(1, 2), 1, mask=checkerboard_mask(4)), Squeeze(),
                           AffineCoupling(small_net(2, 4), 4, flip=True)])
    level1 = FlowSequence([AffineCoupling(small_net(1, 2), 2, scale="sigmoid")])
    prior = small_net(2, 4) if conditional else None
    return MultiScaleFlow([level0, level1], [FactorOut(prior)], GaussianPrior((2, 2, 2), learned=conditional),
                          preprocess=LogitTransform(0.05)).double()


def test_multiscale_flow_density_is_the_change_of_variables(digits4: torch.Tensor) -> None:
    """log p(x) = log N(f(x)) + log|det J_f(x)| with f = encode, J from autograd (standard priors)."""
    flow = tiny_multiscale(conditional=False)
    perturb(flow, scale=0.3)
    x = digits4[:3]
    _, log_density = flow(x)
    z = flow.encode(x)
    assert z.shape == (3, 16)
    torch.testing.assert_close(flow.decode(z), x, atol=1e-6, rtol=0)
    for i in range(3):
        expected = gaussian_log_density(z[i]).sum() + autograd_logdet(flow.encode, x[i:i + 1])
        torch.testing.assert_close(log_density[i], expected, rtol=1e-6, atol=1e-6)


def test_conditional_split_prior_scores_z_under_its_predicted_gaussian(digits4: torch.Tensor) -> None:
    flow = tiny_multiscale(conditional=True)
    perturb(flow, scale=0.3)
    x = digits4[:3]
    zs, log_density = flow(x)
    split = flow.splits[0]
    h, logdet0 = flow.preprocess(x)
    h, logdet1 = flow.levels[0](h)
    kept, z0, log_pz0 = split(h)
    mean, log_std = split.prior(kept).chunk(2, 1)
    expected_z0 = torch.distributions.Normal(mean, log_std.exp()).log_prob(z0).flatten(1).sum(1)
    torch.testing.assert_close(log_pz0, expected_z0)
    top, logdet2 = flow.levels[1](kept)
    top_lp = torch.distributions.Normal(flow.prior.mean, flow.prior.log_std.exp()).log_prob(top).flatten(1).sum(1)
    torch.testing.assert_close(log_density, logdet0 + logdet1 + log_pz0 + logdet2 + top_lp)
    torch.testing.assert_close(flow.inverse(zs), x, atol=1e-6, rtol=0)


def test_sampling_temperature_scales_the_latents() -> None:
    flow = tiny_multiscale(conditional=True).float()
    perturb(flow, scale=0.3)
    cold = flow.sample(4, temperature=0.0, generator=torch.Generator().manual_seed(1))
    cold2 = flow.sample(4, temperature=0.0, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(cold, cold2)  # T = 0: every latent at its mean, noise ignored
    warm = flow.sample(4, temperature=1.0, generator=torch.Generator().manual_seed(1))
    assert (warm - cold).abs().max() > 1e-2
    assert warm.shape == (4, 1, 4, 4)
    margin = 0.05 / 0.9  # the inverse logit reaches just beyond [0, 1] by alpha / (1 - 2 alpha)
    assert ((warm >= -margin - 1e-6) & (warm <= 1 + margin + 1e-6)).all()


# -- the temperature: a sampling option of both flow families, not part of their config ------------

SMALL_FLOWS = {
    "realnvp": {"image_size": 4, "n_scales": 2, "couplings": 1, "n_blocks": 0, "hidden": 4},
    "glow": {"image_size": 4, "levels": 1, "steps": 1, "hidden": 4},
}


def small_flow(family: str) -> nn.Module:
    torch.manual_seed(0)
    model = genzoo.create_model(family, **SMALL_FLOWS[family])
    perturb(model, scale=0.2, skip=("splits", "prior"))
    return model.eval()


@pytest.mark.parametrize("family", sorted(SMALL_FLOWS))
def test_temperature_is_a_sampling_option_that_leaves_the_model_as_it_was(family: str, tmp_path) -> None:
    model = small_flow(family)
    config = model.config
    saved = (model.save_pretrained(tmp_path / "before") / "config.json").read_text()
    g = torch.Generator().manual_seed
    with torch.no_grad():
        default = model.sample(3, generator=g(0))
        same = model.sample(3, generator=g(0), temperature="0.7")  # text, as `genzoo sample --set` passes it
        cold = model.sample(3, generator=g(0), temperature=0.3)
    torch.testing.assert_close(default, same, rtol=0, atol=0)  # 0.7 is the families' default
    assert (cold - default).abs().max() > 1e-3
    assert model.config is config and not hasattr(model.config, "temperature")
    assert model.config == genzoo.create_model(family, **SMALL_FLOWS[family]).config
    after = (model.save_pretrained(tmp_path / "after") / "config.json").read_text()
    assert after == saved and '"temperature"' not in saved
    with pytest.raises(ConfigError, match=r"temperature=-1.0 is not allowed: 0 or more"):
        model.sample(1, temperature=-1)
    with pytest.raises(ConfigError, match=r"no field 'temprature'\. Did you mean: temperature\? Fields: temperature\."):
        model.sample(1, temprature=0.5)


@pytest.mark.parametrize("family", sorted(SMALL_FLOWS))
def test_folders_saved_with_a_config_temperature_still_load(family: str, tmp_path) -> None:
    """Before sampling options, config.json carried "temperature" (0.7 unless overridden): such folders load,
    the field is dropped, and only a value that no longer applies is worth a warning."""
    model = small_flow(family)
    folder = model.save_pretrained(tmp_path / "old")
    path = folder / "config.json"
    info = json.loads(path.read_text())
    g = torch.Generator().manual_seed
    info["config"]["temperature"] = 0.7
    path.write_text(json.dumps(info))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = genzoo.create_model(str(folder))
    assert not hasattr(loaded.config, "temperature") and loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded.sample(3, generator=g(0)), model.sample(3, generator=g(0)), rtol=0, atol=0)
    info["config"]["temperature"] = 0.5
    path.write_text(json.dumps(info))
    with pytest.warns(FutureWarning, match=r"temperature=0.5 is ignored.*genzoo sample --set temperature=0.5"):
        loaded = genzoo.create_model(str(folder))
    assert not hasattr(loaded.config, "temperature")


@pytest.mark.parametrize("family", sorted(SMALL_FLOWS))
def test_a_retired_config_field_is_refused_where_a_user_sets_it(family: str) -> None:
    """Only files an earlier genzoo wrote may carry `temperature` in a config; set by hand, it is refused with
    the place it moved to, not dropped quietly."""
    with pytest.raises(ConfigError, match=r"temperature is no longer a config field: .*genzoo sample --set "
                                          r"temperature=0.5"):
        genzoo.create_model(family, temperature=0.5)
