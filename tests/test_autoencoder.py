"""The autoencoder plugin (plain and denoising) on real MNIST, the shared noise, and the
``genzoo denoise`` command end to end."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import genzoo
from genzoo.cli import cli
from genzoo.core.errors import CapabilityError, ConfigError, GenzooError
from genzoo.core.image_noise import corrupt
from genzoo.core.image_quality import psnr
from genzoo.core.images import save_image
from genzoo.core.phases import Batch

SMALL = {"arch": "mlp", "hidden": (256,), "latent_dim": 32, "lr": 2e-3}
TRAIN = {"batch_size": 64, "sample_every": 0, "checkpoint_every": 0, "log_every": 50}




@pytest.fixture(scope="module")
def mnist_test(data_root) -> torch.Tensor:
    images = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root).images
    return images[:300].float() / 255


@pytest.fixture(scope="module")
def dae_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("dae") / "run"
    return genzoo.train("dae-mnist", "mnist", steps=300, out=out, config=SMALL, train=TRAIN,
                        data_root=data_root, progress=False)


def test_variants_capabilities_and_config():
    ae, dae = genzoo.create_model("ae-mnist"), genzoo.create_model("dae-mnist")
    assert ae.config.noise_std == 0 and (dae.config.noise, dae.config.noise_std) == ("gaussian", 0.3)
    assert ae.capabilities == {"reconstruct", "encode"}
    with pytest.raises(CapabilityError, match="no sample"):
        ae.require("sample")
    with pytest.raises(ConfigError, match="noise_std"):
        genzoo.create_model("autoencoder", noise="mask", noise_std=1.5)
    with pytest.raises(ConfigError, match="noise"):
        genzoo.create_model("autoencoder", noise="speckle")


@pytest.mark.parametrize("arch,loss,size,channels", [("conv", "bce", 28, 1), ("mlp", "mse", 28, 1),
                                                     ("conv", "mse", 32, 3)])
def test_shapes_and_losses(mnist_test, arch, loss, size, channels):
    m = genzoo.create_model("autoencoder", arch=arch, loss=loss, image_size=size, channels=channels, width=8,
                            hidden=(64,), latent_dim=12, noise_std=0.2)
    x = genzoo.core.data.transforms.format_tensor((mnist_test[:8] * 255).to(torch.uint8), size, channels)
    x = x.float() / 255
    (phase,) = m.phases()
    losses = phase.loss(Batch(x))
    assert {"loss", "recon", "mse"} <= set(losses) and all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    assert all(p.grad is not None for p in phase.parameters())
    with torch.no_grad():
        assert m.encode(x).shape == (8, 12)
        r = m.reconstruct(x)
        assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1


def test_noise_kinds(mnist_test):
    x = mnist_test[:64]
    g = torch.Generator().manual_seed(0)
    assert corrupt(x, "gaussian", 0.0) is x  # noise_std 0: a plain autoencoder sees clean images
    n = corrupt(x, "gaussian", 0.3, g)
    # clipping to [0, 1] halves the mean change on MNIST's black background
    assert n.min() >= 0 and n.max() <= 1 and 0.08 < float((n - x).abs().mean()) < 0.2
    for kind, fraction in (("salt_pepper", 0.2), ("mask", 0.4)):
        y = corrupt(x, kind, fraction, g)
        changed = (y != x).float().mean().item()
        if kind == "mask":
            assert set(y[y != x].unique().tolist()) == {0.0}
            assert abs(changed - fraction * (x > 0).float().mean().item()) < 0.02  # only lit pixels change
        else:
            assert set(y[y != x].unique().tolist()) <= {0.0, 1.0} and 0.05 < changed < 0.2
    a = corrupt(x, "gaussian", 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a, corrupt(x, "gaussian", 0.3, torch.Generator().manual_seed(5)))  # seeded
    with pytest.raises(GenzooError, match="fraction"):
        corrupt(x, "mask", 2.0)


def test_dae_learns_to_denoise(dae_run, mnist_test):
    x = mnist_test
    noisy = corrupt(x, "gaussian", 0.3, torch.Generator().manual_seed(0))
    torch.manual_seed(0)  # the run's step-0 weights
    start = genzoo.create_model("dae-mnist", **SMALL).eval()
    with torch.no_grad():
        p_noisy = psnr(noisy, x, 1.0).mean().item()
        p_start = psnr(start.reconstruct(noisy), x, 1.0).mean().item()
        p_after = psnr(dae_run.model.eval().reconstruct(noisy), x, 1.0).mean().item()
    assert p_after > p_noisy + 3 and p_after > p_start + 5, (p_noisy, p_start, p_after)
    logs = [json.loads(line) for line in (dae_run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logs[-1]["ae.mse"] < logs[0]["ae.mse"]


def test_save_load_round_trip(dae_run, mnist_test):
    loaded = genzoo.create_model(str(dae_run.run_dir))
    assert loaded.config == dae_run.model.config and loaded.family == "autoencoder"
    with torch.no_grad():
        assert torch.equal(loaded.reconstruct(mnist_test[:32]), dae_run.model.eval().reconstruct(mnist_test[:32]))
        assert torch.equal(loaded.encode(mnist_test[:4]), dae_run.model.encode(mnist_test[:4]))


def test_denoise_cli_end_to_end(dae_run, data_root, tmp_path):
    out = tmp_path / "den"
    res = CliRunner().invoke(cli, ["denoise", str(dae_run.run_dir), "mnist", "--split", "test", "--n", "24",
                                   "--out", str(out), "--data-root", str(data_root), "--seed", "1"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 24 and metrics["noise"] == "gaussian" and metrics["noise_std"] == 0.3
    assert metrics["denoised"]["psnr"] > metrics["noisy"]["psnr"] + 3
    assert metrics["denoised"]["ssim"] > metrics["noisy"]["ssim"]
    for name in ("clean", "noisy", "denoised"):
        assert len(list((out / name).glob("*.png"))) == 24
    assert (out / "grid.png").is_file() and "denoised PSNR" in res.output
    # the PNGs are what was measured
    clean = genzoo.load_data(str(out / "clean"), image_size=28, channels=1).images.float()
    noisy = genzoo.load_data(str(out / "noisy"), image_size=28, channels=1).images.float()
    assert abs(psnr(clean, noisy, 255.0).mean().item() - metrics["noisy"]["psnr"]) < 1e-3


def test_denoise_cli_on_a_folder_and_bad_inputs(dae_run, mnist_test, tmp_path):
    folder = tmp_path / "digits"
    for i in range(6):
        save_image(mnist_test[i] * 2 - 1, folder / f"{i}.png")
    runner = CliRunner()
    res = runner.invoke(cli, ["denoise", str(dae_run.run_dir), str(folder), "--out", str(tmp_path / "o"),
                              "--noise", "salt_pepper", "--noise-std", "0.1"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["n"] == 6
    # a model that cannot reconstruct: one clean line, non-zero exit, nothing written
    res = runner.invoke(cli, ["denoise", "dcgan-mnist", str(folder), "--out", str(tmp_path / "g")])
    assert res.exit_code != 0 and "has no reconstruct" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "g").exists()
    res = runner.invoke(cli, ["denoise", str(dae_run.run_dir), str(tmp_path / "missing"), "--out",
                              str(tmp_path / "m")])
    assert res.exit_code != 0 and "does not exist" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()
