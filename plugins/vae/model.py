"""Variational autoencoder (Kingma & Welling, 2014), trained in one phase on the ELBO.

    q(z|x) = N(mu(x), diag exp(logvar(x)))     p(z) = N(0, I)     p(x|z): Bernoulli or Gaussian
    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))      loss = -ELBO, in nats per image

The expectation is one reparameterised sample per image; the KL is in closed form. The
ELBO is a loose bound on log p(x), so likelihoods are reported with the importance-weighted
bound of Burda et al. (2016), log (1/k) sum_i p(x, z_i) / q(z_i|x), which tightens as k
grows (k = 1 is the ELBO).

Inputs are [0, 1] intensities (preprocessing "zero_one"). The Bernoulli decoder models
binary pixels: training sees a fresh binarisation of each batch (dynamic binarisation),
and ``log_prob``/``nll`` binarise non-binary inputs with a fixed seed, so their nats are
per *binarised* image (the usual MNIST benchmark, not comparable with 8-bit bits/dim).

The Gaussian decoder integrates its density over each 8-bit pixel's bin of width 1/255
(the discretised Gaussian of PixelCNN++ with a normal in place of the logistic), so its
``log_prob`` is a true log-probability of the 8-bit image, comparable across families.

With ``prior="fitted"`` the model samples and scores under a full Gaussian moment-matched to
the aggregate posterior (the codes its encoder gives training images) instead of N(0, I):
ex-post density estimation (Ghosh et al., 2020), a Gaussian second stage in Dai & Wipf's
(2019) terms. A VAE whose reconstruction term outweighs its KL leaves its codes far from
N(0, I), and decoding prior draws then shows textures it was never trained to draw (on
CIFAR-10 at 2,000 steps: bench/RESULTS.md). Training still pulls the codes towards N(0, I);
the moment-matched Gaussian is the Gaussian prior with the best average ELBO over the codes
it was fitted to, so likelihoods under it are no worse there.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core import batch_random
from genzoo.core.conv_autoencoder import make_decoder, make_encoder
from genzoo.core.errors import CapabilityError
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import VAEConfig

LOG_2PI = math.log(2 * math.pi)
HALF_BIN = 0.5 / 255
EVAL_BINARIZE_SEED = 0
PRIOR_WINDOW = 10_000
"""Training images a fitted prior's moments average over (an exponential window): enough codes
for a full covariance of a few hundred dimensions, recent enough to describe the encoder that
training ends with."""


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def normal_log_density(z: torch.Tensor, mu: torch.Tensor | float = 0.0,
                       logvar: torch.Tensor | float = 0.0) -> torch.Tensor:
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def discretized_gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(pixel bin of x) under N(mean, exp(log_scale)^2), summed per image.

    x holds 8-bit levels k/255; the bin is [x - 1/510, x + 1/510], widened to -inf at 0 and
    +inf at 1 so the 256 bins carry all the mass. Where a bin's mass underflows, the density
    at its centre times the bin width stands in.
    """
    inv = torch.exp(-log_scale)
    centered = x - mean
    upper, lower = inv * (centered + HALF_BIN), inv * (centered - HALF_BIN)
    log_cdf_upper = torch.special.log_ndtr(upper)      # for x = 0: P(X <= upper)
    log_sf_lower = torch.special.log_ndtr(-lower)      # for x = 1: P(X >= lower)
    delta = torch.special.ndtr(upper) - torch.special.ndtr(lower)
    log_pdf = -0.5 * (LOG_2PI + (inv * centered).pow(2)) - log_scale + math.log(2 * HALF_BIN)
    middle = torch.where(delta > 1e-5, torch.log(delta.clamp_min(1e-12)), log_pdf)
    out = torch.where(x < HALF_BIN, log_cdf_upper, torch.where(x > 1 - HALF_BIN, log_sf_lower, middle))
    return out.flatten(1).sum(1)


class VAE(ZooModel):
    capabilities = frozenset({"sample", "log_prob", "reconstruct", "encode"})

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = make_encoder(c.arch, c.image_size, c.channels, c.width, c.hidden, 2 * c.latent_dim)
        self.decoder = make_decoder(c.arch, c.latent_dim, c.image_size, c.channels, c.width, c.hidden)
        # Gaussian decoder's scale: one learned log-sigma per channel (or the fixed config value).
        self.log_sigma = nn.Parameter(torch.full((c.channels,), math.log(c.sigma)),
                                      requires_grad=c.likelihood == "gaussian" and c.variance == "learned")
        if c.prior == "fitted":
            # Exponentially weighted sums of the codes' weight, means, outer products and variances.
            # Buffers, so checkpoints, resumes and pretrained folders carry the fitted prior.
            d = c.latent_dim
            self.register_buffer("prior_weight", torch.zeros(()))
            self.register_buffer("prior_sum", torch.zeros(d))
            self.register_buffer("prior_outer", torch.zeros(d, d))
            self.register_buffer("prior_var_sum", torch.zeros(d))

    # -- the model --------------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) as (mu, logvar), each (N, latent_dim)."""
        mu, logvar = self.encoder(images).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x|z), in [0, 1] (the model's input space)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out.clamp(0.0, 1.0)

    @torch.no_grad()
    def track_codes(self, mu: torch.Tensor, logvar: torch.Tensor) -> None:
        """Fold one training batch's posteriors into the fitted prior's running moments."""
        decay = math.exp(-mu.shape[0] / PRIOR_WINDOW)
        mu = mu.float()
        with torch.autocast(mu.device.type, enabled=False):  # the outer products in float32 under mixed precision
            outer = mu.T @ mu
        for buffer, value in ((self.prior_weight, mu.shape[0]), (self.prior_sum, mu.sum(0)),
                              (self.prior_outer, outer), (self.prior_var_sum, logvar.float().exp().sum(0))):
            buffer.mul_(decay).add_(value)

    def fitted_prior(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The fitted prior's (mean, Cholesky factor of its covariance), or None where p(z) is N(0, I):
        ``prior="standard"``, or a fitted prior before its first training step. Its covariance is the
        aggregate posterior's: that of the posterior means plus the mean posterior variance."""
        if self.config.prior != "fitted" or self.prior_weight.item() == 0:
            return None
        w = self.prior_weight
        mean = self.prior_sum / w
        cov = self.prior_outer / w - torch.outer(mean, mean) + torch.diag(self.prior_var_sum / w)
        return mean, torch.linalg.cholesky(cov + 1e-6 * cov.diagonal().mean() * torch.eye(len(mean), device=w.device))

    def prior_from_standard(self, eps: torch.Tensor) -> torch.Tensor:
        """Standard normal draws (or quantiles) mapped to p(z): unchanged for N(0, I)."""
        fitted = self.fitted_prior()
        return eps if fitted is None else fitted[0] + eps @ fitted[1].T

    def prior_log_density(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) over the last dimension."""
        fitted = self.fitted_prior()
        if fitted is None:
            return normal_log_density(z)
        return torch.distributions.MultivariateNormal(fitted[0], scale_tril=fitted[1]).log_prob(z)

    def log_likelihood(self, targets: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per image, nats."""
        out = self.decoder(z)
        if self.config.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, targets, reduction="none").flatten(1).sum(1)
        log_scale = self.log_sigma.clamp(math.log(1e-3), math.log(1.0)).view(1, -1, 1, 1).expand_as(out)
        return discretized_gaussian_log_prob(targets, out, log_scale)

    def targets(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What p(x|z) scores: binary pixels for the Bernoulli decoder with binarisation on
        (already-binary images pass unchanged), else the images themselves."""
        if self.config.likelihood != "bernoulli" or self.config.binarize == "none":
            return images
        probs = images.clamp(0.0, 1.0)
        u = batch_random.rand(probs.shape[0], *probs.shape[1:], device=probs.device, generator=generator)
        return (u < probs).to(probs.dtype)

    # -- training: one phase ----------------------------------------------------------------
    def elbo_terms(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction -log p(x|z), KL to N(0, I)) per image for one reparameterised z. In
        training mode a fitted prior's moments take in the batch's posteriors."""
        mu, logvar = self.encode(images)
        if self.training and self.config.prior == "fitted":
            self.track_codes(mu, logvar)
        eps = batch_random.randn(mu.shape[0], *mu.shape[1:], device=mu.device, dtype=mu.dtype)
        z = mu + eps * (0.5 * logvar).exp()
        return -self.log_likelihood(targets, z), gaussian_kl(mu, logvar)

    def loss(self, batch: Batch) -> Losses:
        # With dynamic binarisation the encoder sees the binarised image too (as at evaluation).
        x = self.targets(batch.images)
        recon, kl = self.elbo_terms(x, x)
        return {"loss": (recon + kl).mean(), "recon": recon.detach().mean(), "kl": kl.detach().mean()}

    def phases(self) -> list[Phase]:
        return [Phase("vae", [self], self.loss, Optim(lr=self.config.lr, betas=(0.9, 0.999)))]

    # -- likelihoods --------------------------------------------------------------------------
    def _eval_targets(self, images: torch.Tensor) -> torch.Tensor:
        gen = torch.Generator(device=images.device).manual_seed(EVAL_BINARIZE_SEED)
        return self.targets(images, gen)

    @torch.no_grad()
    def nll(self, images: torch.Tensor, k: int = 100, chunk: int = 8192) -> torch.Tensor:
        """-log p(x) bound per image in nats: the IWAE bound with ``k`` importance samples
        (k = 1: the negative ELBO). ``chunk`` caps the decoder batch (samples x images)."""
        if k < 1:
            raise ValueError(f"k must be at least 1; got {k}")
        x = self._eval_targets(images)
        mu, logvar = self.encode(x)
        std = (0.5 * logvar).exp()
        n = x.shape[0]
        per = max(1, chunk // max(1, n))
        log_w = []
        for start in range(0, k, per):
            m = min(per, k - start)
            z = mu + std * torch.randn(m, *mu.shape, device=mu.device, dtype=mu.dtype)   # (m, N, D)
            flat = z.reshape(m * n, -1)
            rep = x.unsqueeze(0).expand(m, *x.shape).reshape(m * n, *x.shape[1:])
            log_px = self.log_likelihood(rep, flat).view(m, n)
            log_w.append(log_px + self.prior_log_density(z) - normal_log_density(z, mu, logvar))
        return -(torch.logsumexp(torch.cat(log_w), 0) - math.log(k))

    @property
    def likelihood_levels(self) -> int:
        """A Bernoulli decoder models binary pixels; the discretised Gaussian models all 256 levels."""
        return 2 if self.config.likelihood == "bernoulli" else 256

    def log_prob(self, images: torch.Tensor) -> torch.Tensor:
        """IWAE lower bound on log p(x) per image in nats, with config.iw_samples samples."""
        return -self.nll(images, k=self.config.iw_samples)

    # -- pictures ----------------------------------------------------------------------------
    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        """Decoder means at z ~ p(z), in [-1, 1] (the zoo's sample range)."""
        self.sampling(options)  # no sampling options: refuse any, by name
        eps = torch.randn(n, self.config.latent_dim, generator=generator,
                          device=generator.device if generator is not None else self.device).to(self.device)
        return self.decode(self.prior_from_standard(eps)) * 2 - 1

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Decoder mean at the posterior mean, in the input space [0, 1]."""
        return self.decode(self.encode(images)[0])

    def interpolate(self, x1: torch.Tensor, x2: torch.Tensor, steps: int = 10) -> torch.Tensor:
        """Decodes of evenly spaced points between the posterior means of x1 and x2, in [-1, 1].
        (C, H, W) inputs give (steps, C, H, W); (N, C, H, W) pairs give (N, steps, C, H, W)."""
        single = x1.dim() == 3
        a, b = (x1[None], x2[None]) if single else (x1, x2)
        za, zb = self.encode(a)[0], self.encode(b)[0]
        t = torch.linspace(0, 1, steps, device=za.device).view(1, steps, 1)
        z = (za.unsqueeze(1) * (1 - t) + zb.unsqueeze(1) * t).reshape(-1, za.shape[1])
        out = (self.decode(z) * 2 - 1).view(a.shape[0], steps, *a.shape[1:])
        return out[0] if single else out

    def manifold(self, grid: int = 20) -> torch.Tensor:
        """For a 2-D latent: decodes over the latent plane, (grid*grid, C, H, W) in [-1, 1], row
        by row (z2 falling down the rows, z1 rising along them). Coordinates are the inverse
        normal CDF of evenly spaced probabilities (0.05..0.95), so each cell holds equal prior
        mass, as in Kingma & Welling's figure 4 (a fitted prior maps them through its mean and
        Cholesky factor, which keeps that true of it)."""
        if self.config.latent_dim != 2:
            raise CapabilityError(f"manifold needs latent_dim=2; this VAE has latent_dim={self.config.latent_dim}.")
        if grid < 2:
            raise ValueError(f"grid must be at least 2; got {grid}")
        v = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, grid)).to(self.device)
        z1 = v.repeat(grid)
        z2 = v.flip(0).repeat_interleave(grid)
        return self.decode(self.prior_from_standard(torch.stack([z1, z2], 1))) * 2 - 1
