"""DCGAN's discriminator options: the hinge + spectral-norm variant (SAGAN's recipe) the CIFAR-10
leaderboard sets against the paper's batch-norm DCGAN."""

from __future__ import annotations

import math

import pytest
import torch
from gan_quality import same_samples, short_run

import genzoo
from genzoo.core.errors import ConfigError

SN = {"g_width": 16, "d_width": 16, "d_norm": "spectral", "loss": "hinge", "lr_g": 1e-4, "lr_d": 4e-4,
      "beta1": 0.0, "beta2": 0.9}


def _convs(module: torch.nn.Module) -> list[torch.nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


def test_spectral_norm_discriminator_is_normalised_and_initialised() -> None:
    torch.manual_seed(0)
    model = genzoo.create_model("dcgan-mnist", **SN)
    convs = _convs(model.discriminator)
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(c, "weight") for c in convs)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    originals = torch.cat([c.parametrizations.weight.original.flatten() for c in convs])
    assert originals.std().item() == pytest.approx(0.02, rel=0.1)  # the DCGAN init reached the raw weights
    model.discriminator.train()
    x = torch.randn(4, 1, 28, 28)
    for _ in range(30):  # power iterations converge on the weights' top singular vectors
        model.discriminator(x)
    for c in convs:
        sigma = torch.linalg.matrix_norm(c.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ConfigError, match="d_norm"):
        genzoo.create_model("dcgan-mnist", d_norm="instance")


def test_hinge_spectral_norm_run_trains_saves_and_loads(data_root, tmp_path) -> None:
    run = short_run("dcgan-mnist", data_root, tmp_path / "run", steps=20, config=SN)
    assert run.step == 20 and run.logs and all(math.isfinite(v) for v in run.logs.values())
    loaded = genzoo.create_model(str(run.run_dir), variant="raw")
    assert loaded.config == run.model.config and loaded.config.d_norm == "spectral"
    assert same_samples(loaded, run.model)
