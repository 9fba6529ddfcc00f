"""Feature extractors: the FID Inception equals pytorch-fid's network, timm backbones load local weights."""

from __future__ import annotations

import torch
from safetensors.torch import save_file

from genzoo.core.metrics.extractors.base import extract, state_dict_sha256
from genzoo.core.metrics.extractors.fid_inception import WEIGHTS_FILE, FIDInceptionV3, build_fid_inception
from genzoo.core.metrics.extractors.timm_backbone import build_timm


def _random_state(seed: int) -> dict[str, torch.Tensor]:
    """Random weights whose BN statistics are calibrated on random inputs (one train-mode pass),
    so that different images still give different features after 90+ layers; with arbitrary
    running statistics a random Inception maps every input to the same vector."""
    torch.manual_seed(seed)
    net = FIDInceptionV3()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration pass
            torch.nn.init.normal_(m.weight, 1.0, 0.2)
            torch.nn.init.normal_(m.bias, 0.0, 0.2)
    with torch.no_grad():
        net.train()(torch.rand(4, 3, 96, 96) * 2 - 1)
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_fid_inception_equals_pytorch_fid(tmp_path, monkeypatch):
    # pytorch-fid loads its weights through torch.hub's cache: putting a state dict under the
    # expected file name there makes its own, unmodified code path load it with no network.
    state = _random_state(seed=0)
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(state, hub / WEIGHTS_FILE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from pytorch_fid.inception import InceptionV3

    reference = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "fid.safetensors"))
    ours = build_fid_inception(weights=str(tmp_path / "fid.safetensors"))
    assert ours.weights_sha256 == state_dict_sha256(state)
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    images[0, :, :14] //= 8  # unlike inputs: random weights map similar noise images to near-equal features
    images[1, :, :, 14:] = 255
    with torch.no_grad():
        expected = reference(images.float().div(255).expand(-1, 3, -1, -1))[0].flatten(1)
    feats, logits = extract(ours, images)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
    assert expected.abs().mean() > 1e-3 and (expected[0] - expected[1]).abs().max() > 1e-2 * expected.abs().max()
    torch.testing.assert_close(feats, expected, rtol=1e-5, atol=1e-6)
    assert ours.describe(1)["channels"] == "repeat-gray-to-rgb" and ours.describe(3)["channels"] == "rgb"


def test_timm_backbone_from_local_weights(tmp_path):
    import timm

    source = timm.create_model("test_resnet", pretrained=False).eval()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # not the init of a freshly built model
    path = tmp_path / "test_resnet.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    ex = build_timm("timm:test_resnet", weights=str(path))
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    feats, logits = extract(ex, images)
    x = (torch.nn.functional.interpolate(images.float().div(255).expand(-1, 3, -1, -1), size=(160, 160),
                                         mode="bilinear", align_corners=False, antialias=True) - 0.5) / 0.5
    with torch.no_grad():
        expected = source.forward_head(source.forward_features(x), pre_logits=True)
    assert feats.shape == (3, source.num_features) and logits.shape == (3, 1000)
    torch.testing.assert_close(feats, expected, rtol=1e-4, atol=1e-5)
    d = ex.describe(1)
    assert d["extractor"] == "timm:test_resnet" and d["input_size"] == 160 and d["channels"] == "repeat-gray-to-rgb"
    assert d["extractor_sha256"] == state_dict_sha256(source.state_dict())
    fresh = build_timm("timm:test_resnet", weights=str(path))
    assert fresh.weights_sha256 == ex.weights_sha256


def test_resnet_cifar10_evaluator_learns_and_serves_as_extractor(cifar10_root, cifar_sample):
    """`genzoo evaluator train cifar10` on CIFAR-10 binary batches (real images): the ResNet is
    tested on held-out images, saved, and then named by metrics as an extractor."""
    import json

    from click.testing import CliRunner

    from genzoo.cli import cli
    from genzoo.core.metrics.extractors.evaluator import evaluators_dir
    from genzoo.evaluation.evaluate import build_extractor

    result = CliRunner().invoke(cli, ["evaluator", "train", "cifar10", "--data-root", str(cifar10_root),
                                      "--steps", "30", "--batch-size", "32", "--optimizer", "adam", "--lr", "2e-3"])
    assert result.exit_code == 0, result.output
    cfg = json.loads((evaluators_dir() / "resnet-cifar10" / "config.json").read_text())
    assert cfg["arch"] == "resnet9" and cfg["feature_dim"] == 384 and cfg["train"]["train_images"] == 1000
    assert cfg["train"]["test_images"] == 500 and cfg["test_accuracy"] > 0.16, cfg  # chance: 0.1 +- 0.013
    ex = build_extractor("local:resnet-cifar10")  # the plain name means the weights shipped with genzoo
    assert ex.weights_sha256 == cfg["weights_sha256"]
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    feats, logits = extract(ex, images, batch_size=4)
    assert feats.shape == (6, 384) and logits.shape == (6, 10) and torch.isfinite(feats).all()
