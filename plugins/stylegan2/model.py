"""StyleGAN2 (Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, 2020), the whole model in one file.

Generator: a mapping network (pixel norm, then ``n_mlp`` equalised-lr linear layers with leaky ReLU
and a 0.01 learning-rate multiplier) turns z into w; a learned constant 4x4 (or 7x7) input is
refined by modulated 3x3 convolutions, two per resolution, each scaling its weights by a style
(an affine map of w) and demodulating them back to unit norm, then adding per-pixel noise with a
learned strength; each resolution's toRGB output is upsampled and summed (the skip generator).
Discriminator: residual blocks with FIR-filtered downsampling, then a minibatch standard deviation
channel and two dense layers. Every layer uses the equalised learning rate: weights are stored
N(0, 1) and scaled by He's constant at run time, so Adam's step is the same for every layer.

Training, four phases per step: the discriminator's non-saturating logistic loss; every 16 steps
the R1 penalty on real images (scaled by 16, sharing the discriminator's Adam state); the
generator's loss on style-mixed latents; every 4 steps the path length regulariser (scaled by 4).
Adam's learning rate and betas are corrected for the lazy steps (lr * N / (N + 1), beta ** (N /
(N + 1))), as in the paper. The trainer averages the generator (EMA) and the mean w is tracked
for the truncation trick.

Module and parameter names follow rosinality/stylegan2-pytorch's checkpoints (``style.1.weight``,
``convs.0.conv.modulation.bias``, ``noises.noise_0``, ...), so its weights load under
``generator.``/``discriminator.`` one to one (see convert.py).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core import batch_random
from genzoo.core.errors import ConfigError
from genzoo.core.fir import fir_kernel, upfirdn2d, upsample2d
from genzoo.core.gan import discriminator_loss, generator_loss
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import StyleGAN2Config, StyleGAN2SampleOptions, start_size

BLUR = (1, 3, 3, 1)
SQRT2 = math.sqrt(2)


def widths(config: StyleGAN2Config) -> dict[int, int]:
    """Channels per resolution: the paper's 512 up to 32 px, then halving per doubling (times the multiplier)."""
    start = start_size(config.image_size)
    out, res = {}, start
    while res <= config.image_size:
        out[res] = min(config.channel_max, 16384 * config.channel_multiplier // max(res, 32))
        res *= 2
    return out


def leaky(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Bias, leaky ReLU(0.2), then a gain of sqrt(2) that keeps the activations' scale."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return F.leaky_relu(x + bias.view(shape), 0.2) * SQRT2


# -- equalised-learning-rate layers -----------------------------------------------------------

class EqualLinear(nn.Module):
    def __init__(self, d_in: int, d_out: int, *, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init)))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(d_in), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale)
        return leaky(out, self.bias * self.lr_mul) if self.activate else out + self.bias * self.lr_mul


class EqualConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, *, stride: int = 1, padding: int = 0,
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.stride, self.padding = 1 / math.sqrt(c_in * kernel * kernel), stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class LeakyBias(nn.Module):
    """A per-channel bias followed by the scaled leaky ReLU (upstream's "FusedLeakyReLU")."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky(x, self.bias)


class Blur(nn.Module):
    """A fixed FIR low-pass filter with padding; the kernel is a constant, not saved with the weights."""

    def __init__(self, pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel(BLUR, gain), persistent=False)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


# -- generator -----------------------------------------------------------------------------------

class PixelNorm(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled by a style and whose output is demodulated.

    Modulating the input and scaling the output by each filter's norm under that style equals
    convolving with the per-sample modulated, demodulated weights (the paper's eq. 1-3), with one
    shared weight tensor instead of a grouped convolution per sample.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, style_dim: int, *, demodulate: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, c_out, c_in, kernel, kernel))
        self.modulation = EqualLinear(style_dim, c_in, bias_init=1.0)
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel // 2
        if upsample:  # transposed conv (stride 2) then a blur whose padding restores the exact 2x size
            p = (len(BLUR) - 2) - (kernel - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.modulation(w)  # (N, c_in)
        weight = self.scale * self.weight[0]  # (c_out, c_in, k, k)
        x = x * style[:, :, None, None]
        if self.upsample:
            out = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            norms = (weight[None] * style[:, None, :, None, None]).pow(2).sum((2, 3, 4))  # (N, c_out)
            out = out * torch.rsqrt(norms + 1e-8)[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))  # the learned strength starts at 0: noise is earned

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, n: int) -> torch.Tensor:
        return self.input.expand(n, -1, -1, -1)


class StyledConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = LeakyBias(c_out)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, w), noise))


class Upsample(nn.Module):
    """2x FIR upsampling of the skip connection's image (bilinear with [1, 3, 3, 1])."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernel", fir_kernel(BLUR, gain=4.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2d(x, self.kernel)


class ToRGB(nn.Module):
    def __init__(self, c_in: int, channels: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(c_in, channels, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, w) + self.bias
        return out if skip is None else out + self.upsample(skip)


class Generator(nn.Module):
    """z -> w (``mapping``); w+ (one w per layer) and noise maps -> image (``synthesis``)."""

    def __init__(self, c: StyleGAN2Config) -> None:
        super().__init__()
        ch = widths(c)
        res = sorted(ch)
        self.style_dim = c.style_dim
        self.style = nn.Sequential(PixelNorm(), *(EqualLinear(c.style_dim, c.style_dim, lr_mul=c.lr_mlp,
                                                              activate=True) for _ in range(c.n_mlp)))
        self.input = ConstantInput(ch[res[0]], res[0])
        self.conv1 = StyledConv(ch[res[0]], ch[res[0]], c.style_dim)
        self.to_rgb1 = ToRGB(ch[res[0]], c.channels, c.style_dim, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        for lo, hi in itertools.pairwise(res):
            self.convs.append(StyledConv(ch[lo], ch[hi], c.style_dim, upsample=True))
            self.convs.append(StyledConv(ch[hi], ch[hi], c.style_dim))
            self.to_rgbs.append(ToRGB(ch[hi], c.channels, c.style_dim))
        self.noise_sizes = [res[0]] + [r for r in res[1:] for _ in range(2)]
        self.noises = nn.Module()  # fixed noise maps, one per conv layer, for reproducible details
        for i, size in enumerate(self.noise_sizes):
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, size, size))
        self.n_latent = 2 * len(res)  # one w per conv and per toRGB (convs and toRGBs share one in between)
        self.register_buffer("w_avg", torch.zeros(c.style_dim))  # the tracked mean w (truncation)

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.style(z)

    def make_noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        device = self.w_avg.device
        gen_device = generator.device if generator is not None else device
        return [torch.randn(n, 1, s, s, generator=generator, device=gen_device).to(device) for s in self.noise_sizes]

    def fixed_noise(self) -> list[torch.Tensor]:
        return [getattr(self.noises, f"noise_{i}") for i in range(len(self.noise_sizes))]

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """w+ (N, n_latent, style_dim) -> images (N, C, H, W), unclamped (about [-1, 1])."""
        out = self.conv1(self.input(ws.shape[0]), ws[:, 0], noise[0])
        skip = self.to_rgb1(out, ws[:, 1])
        for k, to_rgb in enumerate(self.to_rgbs):
            i = 2 * k + 1
            out = self.convs[2 * k](out, ws[:, i], noise[i])
            out = self.convs[2 * k + 1](out, ws[:, i + 1], noise[i + 1])
            skip = to_rgb(out, ws[:, i + 2], skip)
        return skip

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.synthesis(ws, noise if noise is not None else self.make_noise(ws.shape[0]))


# -- discriminator -------------------------------------------------------------------------------

class ConvLayer(nn.Sequential):
    """[blur,] equalised conv [, bias + leaky ReLU]: a downsampling conv blurs first, then strides."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, downsample: bool = False, bias: bool = True,
                 activate: bool = True) -> None:
        layers: list[nn.Module] = []
        if downsample:
            p = (len(BLUR) - 2) + (kernel - 1)
            layers.append(Blur(((p + 1) // 2, p // 2)))
        layers.append(EqualConv2d(c_in, c_out, kernel, stride=2 if downsample else 1,
                                  padding=0 if downsample else kernel // 2, bias=bias and not activate))
        if activate:
            layers.append(LeakyBias(c_out))
        super().__init__(*layers)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(c_in, c_in, 3)
        self.conv2 = ConvLayer(c_in, c_out, 3, downsample=True)
        self.skip = ConvLayer(c_in, c_out, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / SQRT2


class Discriminator(nn.Module):
    def __init__(self, c: StyleGAN2Config, stddev_group: int = 4) -> None:
        super().__init__()
        ch = widths(c)
        res = sorted(ch, reverse=True)
        blocks: list[nn.Module] = [ConvLayer(c.channels, ch[res[0]], 1)]
        blocks += [ResBlock(ch[hi], ch[lo]) for hi, lo in itertools.pairwise(res)]
        self.convs = nn.Sequential(*blocks)
        self.stddev_group = stddev_group
        end = res[-1]
        self.final_conv = ConvLayer(ch[end] + 1, ch[end], 3)
        self.final_linear = nn.Sequential(EqualLinear(ch[end] * end * end, ch[end], activate=True),
                                          EqualLinear(ch[end], 1))

    def minibatch_stddev(self, x: torch.Tensor) -> torch.Tensor:
        """One more channel: the feature standard deviation within groups of images, averaged.

        A generator that collapses to few outputs shows a small spread, which the discriminator then
        sees. Groups of 4 as in the paper; a batch that 4 does not divide uses the largest divisor below.
        """
        n, c, h, w = x.shape
        group = next(g for g in range(min(n, self.stddev_group), 0, -1) if n % g == 0)
        y = x.view(group, -1, c, h, w)
        std = torch.sqrt(y.var(0, unbiased=False) + 1e-8).mean((1, 2, 3))  # (n / group,)
        return torch.cat([x, std.view(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(n, 1, h, w)], 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.final_conv(self.minibatch_stddev(self.convs(images)))
        return self.final_linear(out.flatten(1)).view(-1)


# -- the zoo model -------------------------------------------------------------------------------

class StyleGAN2(ZooModel):
    capabilities = frozenset({"sample"})
    ema_modules = ("generator",)
    sample_options = StyleGAN2SampleOptions

    def __init__(self, config: StyleGAN2Config) -> None:
        super().__init__(config)
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        self.register_buffer("pl_mean", torch.zeros(()))  # running mean of path lengths (the regulariser's target)

    # -- sampling ------------------------------------------------------------------------------

    def latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z: from ``generator`` when sampling, else this step's share of the global batch's (batch_random)."""
        return batch_random.randn(n, self.config.style_dim, device=self.device, generator=generator)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick: pull w toward the tracked mean w by ``psi`` (1 = unchanged)."""
        return w if psi == 1 else torch.lerp(self.generator.w_avg, w, psi)

    def w_plus(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """z (N, style_dim) -> w+ (N, n_latent, style_dim): the same (truncated) w for every layer."""
        w = self.truncate(self.generator.mapping(z), psi)
        return w[:, None].expand(-1, self.generator.n_latent, -1)

    def sample(self, n: int, *, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
               **options: Any) -> torch.Tensor:
        """n images in [-1, 1]; ``options`` are StyleGAN2SampleOptions (truncation, noise, style mixing)."""
        opts = self.sampling(options)
        ws = self.w_plus(self.latents(n, generator), opts.truncation)
        if opts.mix_seed is not None:
            other = torch.Generator(generator.device if generator is not None else "cpu").manual_seed(opts.mix_seed)
            rows = torch.zeros(self.generator.n_latent, dtype=torch.bool, device=self.device)
            rows[list(opts.layer_range(self.generator.n_latent))] = True
            ws = torch.where(rows[None, :, None], self.w_plus(self.latents(n, other), opts.truncation), ws)
        noise = self.generator.fixed_noise() if opts.noise == "fixed" else self.generator.make_noise(n, generator)
        parts = []
        for i in range(0, n, 8):  # a few images at a time: 1024-pixel activations are large
            chunk = noise if opts.noise == "fixed" else [m[i:i + 8] for m in noise]
            parts.append(self.generator.synthesis(ws[i:i + 8], [m.expand(len(ws[i:i + 8]), -1, -1, -1)
                                                                 for m in chunk]))
        return torch.cat(parts).clamp(-1, 1)

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, steps: int = 8, *, truncation: float = 1.0,
                    noise: str = "fixed") -> torch.Tensor:
        """Images along the straight line from w(z_a) to w(z_b), ``steps`` of them, ends included.

        Interpolating in w rather than z follows the paper's perceptual path length: w is the
        disentangled space, so the path passes through plausible images. Fixed noise keeps the fine
        details from flickering between frames; ``noise="random"`` draws new maps.
        """
        if steps < 2 or noise not in ("fixed", "random"):
            raise ConfigError(f"interpolate needs steps >= 2 and noise 'fixed' or 'random' (got {steps}, {noise!r}).")
        z = torch.stack([z_a.reshape(-1), z_b.reshape(-1)]).to(self.device)
        w = self.truncate(self.generator.mapping(z), truncation)
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        ws = torch.lerp(w[0:1], w[1:2], t)[:, None].expand(-1, self.generator.n_latent, -1)
        maps = self.generator.fixed_noise() if noise == "fixed" else self.generator.make_noise(steps)
        return self.generator.synthesis(ws, [m.expand(steps, -1, -1, -1) for m in maps]).clamp(-1, 1)

    # -- training ------------------------------------------------------------------------------

    def mixed_latents(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """w+ for training: with probability ``mixing`` the layers from a random cut-off on come from
        a second latent (style mixing regularisation: adjacent styles must not depend on each other).
        Returns w+ and the first latents' w (whose mean the truncation trick tracks)."""
        g = self.generator
        w1, w2 = g.mapping(self.latents(2 * n)).chunk(2)
        cut = torch.randint(1, g.n_latent, (), device=self.device)
        cut = torch.where(torch.rand((), device=self.device) < self.config.mixing, cut, g.n_latent)
        rows = torch.arange(g.n_latent, device=self.device)[None, :, None] >= cut
        return torch.where(rows, w2[:, None], w1[:, None]), w1

    def d_loss(self, batch: Batch) -> Losses:
        with torch.no_grad():
            ws, _ = self.mixed_latents(len(batch))
            fake = self.generator(ws)
        real_logits, fake_logits = self.discriminator(batch.images), self.discriminator(fake)
        return {"loss": discriminator_loss(real_logits, fake_logits, "bce"),
                "real": real_logits.detach().mean(), "fake": fake_logits.detach().mean()}

    def r1_loss(self, batch: Batch) -> Losses:
        """R1 (Mescheder et al. 2018): gamma/2 E||grad_x D(x)||^2 on real images, times d_reg_every."""
        real = batch.images.detach().requires_grad_(True)
        logits = self.discriminator(real)
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        r1 = grad.pow(2).flatten(1).sum(1).mean()
        # + 0 * logits: every D parameter in the graph (the last bias has no gradient through R1), so that
        # DDP, which waits for each parameter's gradient, sees them all (StyleGAN2-ADA does the same)
        return {"loss": self.config.r1_gamma / 2 * r1 * self.config.d_reg_every + 0 * logits.mean(),
                "r1": r1.detach()}

    def g_loss(self, batch: Batch) -> Losses:
        ws, w = self.mixed_latents(len(batch))
        with torch.no_grad():  # the tracked mean w, for truncation
            self.generator.w_avg.lerp_(w.mean(0), 1 - self.config.w_avg_beta)
        fake = self.generator(ws)
        return {"loss": generator_loss(self.discriminator(fake), "bce")}

    def pl_loss(self, batch: Batch) -> Losses:
        """Path length regularisation: |J_w^T y| for random image-space y should be the same for every w,
        so that a fixed step in w changes the image by a fixed amount; times g_reg_every."""
        n = max(1, len(batch) // self.config.pl_batch_shrink)
        ws, _ = self.mixed_latents(n)
        fake = self.generator(ws)
        y = torch.randn_like(fake) / math.sqrt(fake.shape[2] * fake.shape[3])
        (grad,) = torch.autograd.grad((fake * y).sum(), ws, create_graph=True)
        lengths = grad.pow(2).sum(2).mean(1).sqrt()
        target = self.pl_mean.lerp(lengths.mean(), self.config.pl_decay)
        self.pl_mean.copy_(target.detach())
        penalty = (lengths - target).pow(2).mean()
        # + 0 * fake: every G parameter in the graph (biases have no gradient through the penalty), for DDP
        return {"loss": self.config.pl_weight * penalty * self.config.g_reg_every + 0 * fake[:, 0, 0, 0].mean(),
                "pl": penalty.detach(),
                "path_length": lengths.detach().mean()}

    def phases(self) -> list[Phase]:
        c = self.config

        def lazy(every: int) -> Optim:  # the paper's correction of Adam for the regulariser's extra steps
            ratio = every / (every + 1)
            return Optim(lr=c.lr * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)

        d, g = [self.discriminator], [self.generator]
        phases = [Phase("d", d, self.d_loss, lazy(c.d_reg_every))]
        if c.r1_gamma > 0:
            phases.append(Phase("d_reg", d, self.r1_loss, every=c.d_reg_every, shares_optimizer="d"))
        phases.append(Phase("g", g, self.g_loss, lazy(c.g_reg_every)))
        if c.pl_weight > 0:
            phases.append(Phase("g_reg", g, self.pl_loss, every=c.g_reg_every, shares_optimizer="g"))
        return phases
