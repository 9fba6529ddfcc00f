"""PSNR and SSIM agree with scikit-image on real images (MNIST digits, CIFAR-10 photos)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import genzoo
from genzoo.core.errors import GenzooError
from genzoo.core.image_noise import corrupt
from genzoo.core.image_quality import gaussian_window, psnr, ssim


def _sk_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=data_range, channel_axis=0)


def _pairs(images: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean uint8 images and a noisy uint8 copy (mixed noise strengths, so values spread)."""
    g = torch.Generator().manual_seed(seed)
    clean = images.float() / 255
    std = torch.linspace(0.02, 0.4, len(images)).view(-1, 1, 1, 1)
    noisy = (clean + std * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    return images, (noisy * 255).round().to(torch.uint8)


def _check(clean8: torch.Tensor, noisy8: torch.Tensor) -> None:
    for scale, data_range in ((1.0, 255.0), (1 / 255, 1.0)):
        a, b = clean8.double() * scale, noisy8.double() * scale
        ours_p, ours_s = psnr(a, b, data_range), ssim(a, b, data_range)
        ref_p = [peak_signal_noise_ratio(x.numpy(), y.numpy(), data_range=data_range) for x, y in zip(a, b)]
        ref_s = [_sk_ssim(x.numpy(), y.numpy(), data_range) for x, y in zip(a, b)]
        np.testing.assert_allclose(ours_p.numpy(), ref_p, rtol=1e-4)
        np.testing.assert_allclose(ours_s.numpy(), ref_s, rtol=1e-4)
        assert ours_s.shape == (len(clean8),) and float(ours_s.std()) > 0.01  # real spread, not a constant
    # float32 in, float32 out, same values
    s32 = ssim(clean8.float() / 255, noisy8.float() / 255, 1.0)
    assert s32.dtype == torch.float32
    np.testing.assert_allclose(s32.numpy(), ssim(clean8.double() / 255, noisy8.double() / 255, 1.0).numpy(),
                               rtol=1e-5)


def test_mnist_matches_scikit_image(data_root):
    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root)
    _check(*_pairs(test.images[:12], seed=0))


def _cifar_images(cifar_sample, tmp_path, n: int = 8) -> torch.Tensor:
    """A few of the real CIFAR-10 JPEGs (copied, so the whole 5000-image folder is not scanned)."""
    files = sorted(p for p in cifar_sample.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[::500][:n]
    for f in files:
        shutil.copy(f, tmp_path / f"{f.parent.name}-{f.name}")
    return genzoo.load_data(str(tmp_path), image_size=32, channels=3).images


def test_cifar_sample_matches_scikit_image(cifar_sample, tmp_path):
    images = _cifar_images(cifar_sample, tmp_path)
    assert len(images) == 8
    assert images.shape[1] == 3
    _check(*_pairs(images, seed=1))
    # the DAE's corruptions too (salt-and-pepper is the worst case for SSIM's local statistics)
    clean = images.double() / 255
    noisy = corrupt(clean, "salt_pepper", 0.2, torch.Generator().manual_seed(2))
    ref = [_sk_ssim(x.numpy(), y.numpy(), 1.0) for x, y in zip(clean, noisy)]
    np.testing.assert_allclose(ssim(clean, noisy, 1.0).numpy(), ref, rtol=1e-4)


def test_identical_and_properties(data_root):
    x = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root).images[:4].double()
    assert torch.isinf(psnr(x, x, 255.0)).all()
    np.testing.assert_allclose(ssim(x, x, 255.0).numpy(), 1.0, rtol=1e-12)
    assert torch.allclose(ssim(x, 255 - x, 255.0), ssim(255 - x, x, 255.0))  # symmetric
    assert (ssim(x, 255 - x, 255.0) < 0.5).all()
    w = gaussian_window()
    assert w.numel() == 11 and abs(float(w.sum()) - 1) < 1e-12


def test_bad_shapes():
    with pytest.raises(GenzooError, match="differ in shape"):
        psnr(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 15), 1.0)
    with pytest.raises(GenzooError, match="smaller than"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8), 1.0)
