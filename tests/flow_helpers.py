"""Helpers shared by the flow tests (test_flows_core, test_realnvp, test_glow, test_score)."""

from __future__ import annotations

import torch
from torch.autograd.functional import jacobian

from genzoo.core.data.transforms import normalize

SEED = 1234


def autograd_logdet(fn, x: torch.Tensor) -> torch.Tensor:
    """log|det d fn(x) / dx| for a single image x (1, C, H, W), from the full autograd Jacobian."""
    jac = jacobian(lambda v: fn(v.view_as(x)).flatten(), x.flatten())
    sign, logabsdet = torch.linalg.slogdet(jac)
    assert sign != 0, "the Jacobian is singular"
    return logabsdet


def dequantized(images_uint8: torch.Tensor, seed: int = SEED) -> torch.Tensor:
    """Real uint8 images as a flow sees them: (k + u) / 256 with fixed-seed noise."""
    return normalize(images_uint8, "dequantize", generator=torch.Generator().manual_seed(seed))


def perturb(module: torch.nn.Module, scale: float = 0.1, seed: int = 0, skip: tuple[str, ...] = ()) -> None:
    """Move every parameter off its (often zero / identity) initialisation, so that Jacobian and
    inverse checks test real transformations rather than the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not any(s in name for s in skip):
                p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))


@torch.no_grad()
def mean_bpd(model, images: torch.Tensor) -> float:
    """Mean bits/dim of dequantised images under ``model`` (eval mode)."""
    from genzoo.core.flows import bits_per_dim

    model.eval()
    return bits_per_dim(model.log_prob(images), images[0].numel()).mean().item()


def mnist_test_images(data_root, image_size: int, n: int = 256) -> torch.Tensor:
    """The first ``n`` real MNIST *test* digits at ``image_size``, dequantised with a fixed seed."""
    import genzoo

    images = genzoo.load_data("mnist", image_size=image_size, channels=1, split="test", root=data_root).images[:n]
    return dequantized(images)


def train_tiny(name: str, config: dict, out, data_root, steps: int, **train):
    """A short, seeded CPU run of ``name`` on real MNIST through the public API."""
    import genzoo

    recipe = {"batch_size": 32, "log_every": 10, "sample_every": 0, "checkpoint_every": 0, "sample_grid": 16,
              "device": "cpu", "seed": 0, **train}
    return genzoo.train(name, "mnist", steps=steps, out=out, config=config, train=recipe,
                        data_root=data_root, progress=False)
