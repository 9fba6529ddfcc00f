"""The built-in data sets as a genzoo plugin: registration only, so listing imports no torch.

Each loader is "module:func(root, split, download=False) -> ImageSet" at the set's native
size; genzoo.load_data formats it to the model's size and channels.
"""

from genzoo import DatasetSpec, hookimpl


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="mnist",
        loader="genzoo.core.data.idx:load_mnist",
        description="MNIST handwritten digits (LeCun et al.): 60k train / 10k test, 28x28 grey, 10 classes.",
        image_size=28, channels=1, classes=10,
    ))
    register(DatasetSpec(
        name="fashion-mnist",
        loader="genzoo.core.data.idx:load_fashion_mnist",
        description="Fashion-MNIST (Zalando): 60k train / 10k test clothing images, 28x28 grey, 10 classes.",
        image_size=28, channels=1, classes=10,
    ))
    register(DatasetSpec(
        name="cifar10",
        loader="genzoo.core.data.cifar:load_cifar10",
        description="CIFAR-10 (Krizhevsky 2009), 50k train / 10k test, 32x32 RGB, 10 classes: the official "
                    "binary set, else cifar10-jpg.zip (its JPEG re-encoding; scores close to, not equal to, the "
                    "official pixels').",
        image_size=32, channels=3, classes=10,
    ))
    register(DatasetSpec(
        name="digits",
        loader="genzoo.core.data.digits:load_digits",
        description="scikit-learn's bundled 8x8 digits: 1500 train / 297 test, grey, 10 classes, offline.",
        image_size=8, channels=1, classes=10,
    ))
