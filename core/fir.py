"""FIR resampling of images: upsample, filter, downsample in one operation (``upfirdn2d``).

StyleGAN2 (Karras et al. 2020) resamples with a separable low-pass filter instead of nearest
neighbours or strided convolutions alone: [1, 3, 3, 1] is the binomial filter that makes 2x
upsampling bilinear and 2x downsampling a box-and-blur, which removes the checkerboard
aliasing the plain operations leave. The semantics are those of scipy's ``upfirdn`` applied
along both axes, as the official code and its ports define them: insert ``up - 1`` zeros after
every pixel, pad (negative pads crop), convolve with the kernel (a true convolution, the kernel
flipped), keep every ``down``-th pixel. Plain torch ops, so it runs on any device and is
differentiable twice (R1 and path-length penalties need that).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def fir_kernel(taps: Sequence[float], gain: float = 1.0) -> torch.Tensor:
    """The separable 2-D kernel ``outer(taps, taps)``, normalised to sum to ``gain``.

    Upsampling by 2 inserts zeros, which divides the mean by 4: its kernel needs gain 4.
    """
    k = torch.tensor(list(taps), dtype=torch.float32, device="cpu")  # a constant, even where modules are built on meta
    k2 = k[:, None] * k[None, :] if k.ndim == 1 else k
    return k2 / k2.sum() * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, (H * up + pad0 + pad1 - k) // down + 1, same for W), each channel alone."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, (p0, p1, p0, p1))  # negative values crop
    weight = kernel.flip((0, 1)).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, stride=down, groups=c)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """2x upsampling: H x W -> 2H x 2W; ``kernel`` has gain 4 (see ``fir_kernel``)."""
    p = kernel.shape[0] - 2
    return upfirdn2d(x, kernel, up=2, pad=((p + 1) // 2 + 1, p // 2))

