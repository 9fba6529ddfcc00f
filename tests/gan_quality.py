"""Cheap sample-quality measures for tests: is a short training run moving samples toward the data?

A Fréchet distance between Gaussian fits of simple features (Heusel et al.'s FID recipe,
with average-pooled pixels or a fixed random conv net in place of Inception) is enough to
tell noise from digit-like images in a few hundred samples, costs milliseconds on a CPU and
needs no downloaded weights. It is not a benchmark number: compare values only with the
same features, sample counts and real images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Features = Callable[[torch.Tensor], torch.Tensor]


def pooled_pixels(images: torch.Tensor, size: int = 7) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> (N, C*size*size) block averages: the coarse layout of each image."""
    return F.adaptive_avg_pool2d(images.detach().float().cpu(), size).flatten(1).double()


def random_conv_features(images: torch.Tensor, seed: int = 0, channels: int = 16) -> torch.Tensor:
    """A fixed random conv layer (5x5, stride 2) + ReLU + 4x4 average pooling: edge/stroke statistics."""
    x = images.detach().float().cpu()
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(channels, x.shape[1], 5, 5, generator=g) / (5 * 5 * x.shape[1]) ** 0.5
    y = F.relu(F.conv2d(x, weight, stride=2, padding=2))
    return F.adaptive_avg_pool2d(y, 4).flatten(1).double()


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) between Gaussian fits of two feature sets."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrtm_psd(cov_a)
    cross = _sqrtm_psd(root_a @ cov_b @ root_a)
    return float((mu_a - mu_b).pow(2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * torch.trace(cross))


@torch.no_grad()
def model_samples(model: torch.nn.Module, n: int, seed: int = 0, labels: torch.Tensor | None = None,
                  batch: int = 250) -> torch.Tensor:
    """``n`` samples in eval mode from a seeded generator (labels, if given, are split alongside)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    parts = []
    for i in range(0, n, batch):
        k = min(batch, n - i)
        lab = None if labels is None else labels[i:i + k]
        parts.append(model.sample(k, labels=lab, generator=g).cpu())
    return torch.cat(parts)


def fd_to_data(model: torch.nn.Module, real: torch.Tensor, n: int = 500, seed: int = 0,
               features: Features = pooled_pixels, labels: torch.Tensor | None = None) -> float:
    """Fréchet distance between ``features`` of ``n`` model samples and of ``real`` images (in [-1, 1])."""
    return frechet_distance(features(model_samples(model, n, seed, labels)), features(real))


def real_images(data_root, n: int = 1000, split: str = "test", image_size: int = 28, channels: int = 1):
    """The first ``n`` MNIST images of ``split`` in [-1, 1], and their labels."""
    import genzoo
    from genzoo.core.data.transforms import normalize

    data = genzoo.load_data("mnist", image_size=image_size, channels=channels, split=split, root=data_root)
    data = data.subset(n)
    return normalize(data.images, "minus_one_one"), data.labels


def short_run(name: str, data_root, out, *, steps: int, config: dict, batch_size: int = 32):
    """``genzoo.train`` on real MNIST for a few steps, no intermediate grids or checkpoints."""
    import genzoo

    train = {"sample_every": 0, "checkpoint_every": 0, "log_every": steps, "batch_size": batch_size, "seed": 0}
    return genzoo.train(name, "mnist", steps=steps, out=out, config=config, train=train,
                        data_root=data_root, progress=False)


def untrained(name: str, config: dict, seed: int = 0):
    """The model exactly as ``short_run`` (seed 0) initialises it, before any step."""
    import genzoo

    torch.manual_seed(seed)
    return genzoo.create_model(name, **config)


def same_samples(a: torch.nn.Module, b: torch.nn.Module, n: int = 16, seed: int = 3,
                 labels: torch.Tensor | None = None) -> bool:
    return torch.equal(model_samples(a, n, seed, labels), model_samples(b, n, seed, labels))
