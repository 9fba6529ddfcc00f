"""Every registered CIFAR-10 variant trains on real CIFAR-10 images as zoo.toml ships it.

The per-family tests shrink their networks to stay fast; this one takes each ``*-cifar10``
variant at its registered config and preprocessing (32x32 RGB, horizontal flips), reads the
CIFAR-10 binary batches built from the shared sample's real images, and checks what a user
of the variant relies on: a finite loss from the first steps, weights that survive the save
and load round trip, RGB samples of the right shape and, for likelihood models, finite test
bits/dim. A variant whose config does not fit 3-channel 32px data fails here.
"""

from __future__ import annotations

import math

import pytest
import torch

import genzoo
from genzoo.evaluation.anomaly import score_images

TRAIN = {"batch_size": 4, "sample_every": 0, "checkpoint_every": 0, "log_every": 1,
         "sample_grid": 0}  # no grids: a PixelCNN grid costs 3,072 network passes here


@pytest.mark.parametrize("name", genzoo.list_models("*-cifar10"))
def test_cifar10_variant_trains_round_trips_and_samples(name, cifar10_root, tmp_path):
    result = genzoo.train(name, "cifar10", steps=2, out=tmp_path / "run", data_root=cifar10_root, train=TRAIN,
                          progress=False)
    assert result.step == 2 and result.logs
    assert not any((tmp_path / "run" / "samples").iterdir()) and not (result.pretrained_dir / "samples.png").exists()
    assert all(math.isfinite(v) for v in result.logs.values()), result.logs
    trained = result.model.eval()
    model = genzoo.create_model(result.pretrained_dir).eval()  # what users sample with (GANs: the EMA weights)
    raw = genzoo.create_model(result.pretrained_dir, variant="raw") if trained.ema_modules else model
    assert raw.state_dict().keys() == trained.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(raw.state_dict().values(), trained.state_dict().values()))
    test = genzoo.load_data("cifar10", image_size=32, channels=3, split="test", root=cifar10_root).images[:4]
    with torch.no_grad():
        if "log_prob" in model.capabilities:
            bits = score_images(model, test, progress=False) / (3 * 32 * 32 * math.log(2))
            assert torch.isfinite(bits).all() and (bits > 0).all()
        if model.family != "pixelcnn":  # one network pass per sub-pixel: 3,072 for one image (tested small)
            kwargs = {"labels": torch.tensor([3, 7])} if "conditional" in model.capabilities else {}
            samples = model.sample(2, **kwargs)
            assert samples.shape == (2, 3, 32, 32) and torch.isfinite(samples).all()
