"""Conditional GAN: both players see the class label, so the generator learns p(x | y).

The generator is DCGAN's with a learned label embedding concatenated to z (Mirza &
Osindero 2014). The discriminator comes in two kinds: "concat" feeds the embedding as
extra constant input channels, the original recipe; "projection" (Miyato & Koyama 2018)
keeps DCGAN's unconditional head psi(phi(x)) and adds <embed(y), phi(x)>, which is what
an optimal discriminator looks like when log p(y|x) is log-linear in the features.

Two terms make the default recipe follow its labels in a short run (measured by
bench/cgan_adherence.py; results in bench/RESULTS.md, "cGAN class adherence"):

- A class loss (``aux_weight``). With the adversarial loss alone, D separates real from fake
  by image quality long before the class term matters, so <embed(y), phi(x)> gets almost no
  gradient and G almost no class signal: early samples ignore their labels. Reading the
  projection terms of all classes as logits, D is also trained as a classifier on real images
  (cross-entropy) and G is pushed to have its fakes classified as their label, as in AC-GAN
  (Odena et al. 2017); the same embedding serves both, so the projection term is a class
  score from the first steps.
- Optionally, a twin classifier (``twin_classifier``, TAC-GAN, Gong et al. 2019). The class loss
  alone is AC-GAN's: G is rewarded for images D classifies confidently, which at this length
  pulls each class toward one easily classified scene. A second head on D's features learns
  the classes of G's own fakes, and G's class loss becomes the first head's cross-entropy
  minus the twin's: the missing conditional-entropy term, so G must match p(y|x) of the data
  rather than sharpen it.
- A mode-seeking term (``ms_weight``, Mao et al. 2019). A conditional generator can satisfy
  D with one image per class and ignore z (conditional mode collapse). G is penalised by the
  inverse of |G(z1, y) - G(z2, y)| / |z1 - z2| over pairs sharing a label.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core import batch_random, gan
from genzoo.core.conditioning import LabelPlanes, ProjectionHead, check_labels
from genzoo.core.errors import DataError
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import CGANConfig


class ConditionalGenerator(nn.Module):
    """(z, labels) -> images: DCGAN's generator on [z, embed(y)]; the embedding is here so EMA averages it."""

    def __init__(self, c: CGANConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(c.num_classes, c.embed_dim)
        self.net = gan.DCGANGenerator(c.latent_dim + c.embed_dim, c.image_size, c.channels, c.g_width)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class ConcatDiscriminator(nn.Module):
    """The label as ``embed_dim`` constant planes beside the image channels, then DCGAN's discriminator."""

    def __init__(self, c: CGANConfig) -> None:
        super().__init__()
        self.planes = LabelPlanes(c.num_classes, c.embed_dim)
        self.net = gan.DCGANDiscriminator(c.image_size, c.channels + c.embed_dim, c.d_width, norm=c.d_norm)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        planes = self.planes(labels, images.shape[2], images.shape[3]).to(images.dtype)
        return self.net(torch.cat([images, planes], dim=1))


class ProjectionDiscriminator(nn.Module):
    """psi(phi(x)) + <embed(y), sum-pooled phi(x)>, with phi and psi DCGAN's feature stack and head."""

    def __init__(self, c: CGANConfig) -> None:
        super().__init__()
        self.net = gan.DCGANDiscriminator(c.image_size, c.channels, c.d_width, norm=c.d_norm)
        self.projection = ProjectionHead(c.num_classes, self.net.feature_dim)
        # The twin has the projection's form (sum-pooled features times a class embedding) but its own weights.
        self.twin = ProjectionHead(c.num_classes, self.net.feature_dim) if c.twin_classifier else None

    def scores(self, images: torch.Tensor,
               labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(logit, class logits, twin's class logits or None): the class logits are the projection terms
        <embed(k), phi(x)> of every class k, so the logit's class term is the labelled one's and the same
        embedding can be trained as a classifier; the twin reads the same features."""
        phi = self.net.features(images)
        class_logits = self.projection.class_logits(phi)
        logit = self.net.head(phi).view(-1) + class_logits.gather(1, labels[:, None]).squeeze(1)
        return logit, class_logits, None if self.twin is None else self.twin.class_logits(phi)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.scores(images, labels)[0]


def cross_entropy(logits: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
    """The class loss of a head, or zero when the head is absent (no class loss, or no twin)."""
    return labels.new_zeros((), dtype=torch.float32) if logits is None else F.cross_entropy(logits, labels)


class CGAN(ZooModel):
    capabilities = frozenset({"sample", "conditional"})
    ema_modules = ("generator",)

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        self.generator = ConditionalGenerator(config)
        disc = ProjectionDiscriminator if config.discriminator == "projection" else ConcatDiscriminator
        self.discriminator = disc(config)
        gan.init_dcgan_weights(self)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return batch_random.randn(n, self.config.latent_dim, device=self.device, generator=generator)

    def random_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return batch_random.randint(self.config.num_classes, n, device=self.device, generator=generator)

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        """``n`` images of the given classes; without labels, classes are drawn uniformly."""
        self.sampling(options)  # no sampling options: refuse any, by name
        if labels is None:
            labels = self.random_labels(n, generator)
        labels = check_labels(labels, n, self.config.num_classes).to(self.device)
        return self.generator(self.noise(n, generator), labels)

    def _labels(self, batch: Batch) -> torch.Tensor:
        if batch.labels is None:
            raise DataError("cgan trains on labelled data; this data source has no labels (use mnist, "
                             "cifar10 or a class-per-subfolder image folder).")
        return batch.labels

    def _judge(self, images: torch.Tensor,
               labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """D's logits, its class head's and its twin head's (None when the class loss is off or there is no
        twin): each step takes the cross-entropies it trains on, so none is computed to be thrown away."""
        if self.config.aux_weight == 0:
            return self.discriminator(images, labels), None, None
        return self.discriminator.scores(images, labels)

    def d_loss(self, batch: Batch) -> Losses:
        labels = self._labels(batch)
        # Fakes get the batch's own labels, so D compares real and fake at the same class mix.
        with torch.no_grad():
            fake = self.generator(self.noise(len(batch)), labels)
        real_logits, class_logits, _ = self._judge(batch.images, labels)  # the class head learns real images only
        fake_logits, _, twin_logits = self._judge(fake, labels)  # the twin head learns fakes only
        class_ce, twin_ce = cross_entropy(class_logits, labels), cross_entropy(twin_logits, labels)
        return {
            "loss": gan.discriminator_loss(real_logits, fake_logits, self.config.loss)
            + self.config.aux_weight * (class_ce + twin_ce),
            "real": real_logits.detach().mean(),
            "fake": fake_logits.detach().mean(),
            "class_ce": class_ce.detach(),
            **({"twin_ce": twin_ce.detach()} if self.config.twin_classifier else {}),
        }

    def g_loss(self, batch: Batch) -> Losses:
        c = self.config
        # Two noise vectors per label, so the mode-seeking term can compare them (Mao et al. 2019).
        half = max(1, len(batch) // 2)
        labels = self.random_labels(half).repeat(2)
        z = self.noise(2 * half)
        fake = self.generator(z, labels)
        logits, class_logits, twin_logits = self._judge(fake, labels)
        class_ce, twin_ce = cross_entropy(class_logits, labels), cross_entropy(twin_logits, labels)
        a, b = fake.chunk(2)
        za, zb = z.chunk(2)
        diversity = (a - b).abs().mean() / (za - zb).abs().mean()
        loss = (gan.generator_loss(logits, c.loss) + c.aux_weight * (class_ce - twin_ce)
                + c.ms_weight / (diversity + 1e-5))
        return {"loss": loss, "class_ce": class_ce.detach(), "diversity": diversity.detach(),
                **({"twin_ce": twin_ce.detach()} if c.twin_classifier else {})}

    def phases(self) -> list[Phase]:
        c = self.config
        return [
            Phase("d", [self.discriminator], self.d_loss, Optim(lr=c.lr_d, betas=(c.beta1, c.beta2))),
            Phase("g", [self.generator], self.g_loss, Optim(lr=c.lr_g, betas=(c.beta1, c.beta2))),
        ]
