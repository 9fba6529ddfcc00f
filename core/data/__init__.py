"""The data pipeline: sources -> clean -> format (+ disk cache) -> per-batch transforms.

Every source (MNIST-family IDX, CIFAR-10 binary, sklearn digits, image folders, unpaired
A/B folders) becomes an ImageSet of uint8 NCHW pixels; ``format_images`` fits it to a
model's size and channels; ``BatchLoader`` turns it into deterministic, normalised and
augmented batches on the training device.
"""

from .cache import cache_key, cached, default_cache_dir
from .cifar import load_cifar10, read_cifar_batch
from .clean import CleanReport, scan_folder
from .digits import load_digits
from .folder import load_folder, load_unpaired
from .idx import load_fashion_mnist, load_idx_dataset, load_mnist, read_idx
from .imageset import ImageSet
from .loader import BatchLoader
from .transforms import augment, denormalize, format_images, normalize

__all__ = [
    "BatchLoader",
    "CleanReport",
    "ImageSet",
    "augment",
    "cache_key",
    "cached",
    "default_cache_dir",
    "denormalize",
    "format_images",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_folder",
    "load_idx_dataset",
    "load_mnist",
    "load_unpaired",
    "normalize",
    "read_cifar_batch",
    "read_idx",
    "scan_folder",
]
