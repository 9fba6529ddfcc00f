"""Full-reference image quality: PSNR and SSIM, batched in torch, one value per image.

The numbers are meant to be quoted next to other people's, so they follow scikit-image's
definitions exactly: ``peak_signal_noise_ratio`` and ``structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=R)``, i.e. Wang
et al. (2004) with an 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1 = 0.01,
K2 = 0.03, population statistics, and the SSIM map averaged over every position whose
window lies wholly inside the image (scikit-image crops the 5-pixel border where its
filter would reflect, which is exactly a 'valid' convolution), then over channels.
Sums run in float64, as scikit-image's do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .errors import GenzooError

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _pair(x: torch.Tensor, y: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if x.shape != y.shape:
        raise GenzooError(f"{what}: images differ in shape, {tuple(x.shape)} vs {tuple(y.shape)}.")
    if x.dim() == 3:
        x, y = x[None], y[None]
    if x.dim() != 4:
        raise GenzooError(f"{what}: expected images (N, C, H, W) or (C, H, W); got shape {tuple(x.shape)}.")
    return x.double(), y.double()


def _out_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each image pair: 10 log10(R^2 / MSE); inf where equal."""
    a, b = _pair(x, y, "psnr")
    mse = (a - b).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).to(_out_dtype(x))


def gaussian_window(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> torch.Tensor:
    """scipy.ndimage's 1-D Gaussian: radius int(truncate * sigma + 0.5), normalised to sum 1."""
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Mean structural similarity of each image pair (N,) over positions and channels."""
    a, b = _pair(x, y, "ssim")
    n, c, h, w = a.shape
    g = gaussian_window(sigma).to(a.device)
    k = g.numel()
    if h < k or w < k:
        raise GenzooError(f"ssim: images of {h}x{w} pixels are smaller than the {k}x{k} Gaussian window.")
    # Separable filter: one depthwise conv along H, one along W; 'valid' = scikit-image's cropped map.
    wh, ww = g.view(1, 1, k, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, k).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, wh, groups=c), ww, groups=c)

    stats = blur(torch.cat([a, b, a * a, b * b, a * b]))
    ux, uy, uxx, uyy, uxy = stats.split(n)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1).to(_out_dtype(x))


def mean_finite(values: torch.Tensor) -> float:
    """Mean of per-image values, ignoring the inf PSNR of identical pairs (nan if none is finite)."""
    v = values[torch.isfinite(values)]
    return float(v.mean()) if v.numel() else math.nan
