"""``mnist-inverted``: an unpaired two-domain set made from MNIST alone.

Splitting the digits in two before inverting one half makes the domains unpaired for real:
no B image is the inversion of any A image, so the model must learn the mapping from the
two distributions, as CycleGAN does on horse/zebra photos.
"""

from __future__ import annotations

from pathlib import Path

from genzoo.core.data.idx import load_mnist
from genzoo.core.data.imageset import ImageSet


def load_mnist_inverted(root: Path, split: str = "train", download: bool = False) -> ImageSet:
    mnist = load_mnist(root, split, download=download)
    half = len(mnist) // 2
    return ImageSet(images=mnist.images[:half], name=f"mnist-inverted-{split}",
                    images_b=255 - mnist.images[half:2 * half])
