"""PixelCNN's config and sampling options: the fields ``genzoo info pixelcnn`` shows. ``--set`` on
``genzoo train`` changes the config (what the model is); on ``genzoo sample``, the sampling options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from genzoo.core.config import Retired, check, option


@dataclass(frozen=True)
class PixelCNNSampleOptions:
    sampler: Literal["cropped", "naive"] = option(
        "cropped",
        "cropped: each sampling step runs the network only on the window of rows/columns that can "
        "reach the sub-pixel being drawn; naive: the whole image every step (reference, slow). "
        "Both draw the same images from the same seed.",
    )
    temperature: float = option(
        1.0, "Divides every softmax's logits: 1 = the model's own distribution, below 1 sharper and less diverse.")

    def __post_init__(self) -> None:
        check(self.temperature > 0, "temperature", self.temperature, "positive")


@dataclass(frozen=True)
class PixelCNNConfig:
    retired: ClassVar[dict[str, Retired]] = {"sampler": Retired(
        "the sampler is a sampling option now (genzoo sample --set sampler={value})",
        same_as_now=("cropped", "naive"))}  # both draw the same images: only the speed differed
    """Fields folders saved by earlier versions carry (genzoo.core.config.Retired)."""

    image_size: int = option(28, "Side of the square images, in pixels.")
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB, predicted R, then G, then B).",
                           choices=(1, 3))
    arch: Literal["pixelcnn", "gated"] = option(
        "pixelcnn",
        "pixelcnn: masked 7x7 conv then residual blocks of masked 3x3 convs (has a blind spot); "
        "gated: Gated PixelCNN with vertical and horizontal stacks (no blind spot).",
    )
    hidden: int = option(64, "Feature channels of every layer (a multiple of `channels`).")
    layers: int = option(5, "Residual blocks (pixelcnn) or gated layers (gated) after the first layer.")
    first_kernel: int = option(7, "Kernel size of the first (type A) masked convolution; odd.")
    kernel: int = option(3, "Kernel size of the later (type B) masked convolutions; odd.")
    num_classes: int = option(0, "Classes for class-conditional training and sampling (0 = unconditional).")
    lr: float = option(1e-3, "Adam learning rate.")

    def __post_init__(self) -> None:
        check(self.image_size >= 2, "image_size", self.image_size, "at least 2")
        check(self.hidden >= self.channels and self.hidden % self.channels == 0, "hidden", self.hidden,
              f"a positive multiple of channels={self.channels} (features split into one group per channel)")
        check(self.layers >= 0, "layers", self.layers, "0 or more")
        check(self.first_kernel % 2 == 1 and self.first_kernel >= 1, "first_kernel", self.first_kernel, "odd")
        check(self.kernel >= 1 and self.kernel % 2 == 1, "kernel", self.kernel, "odd, >= 1")
        check(self.num_classes >= 0, "num_classes", self.num_classes, "0 (unconditional) or more")
        check(self.lr > 0, "lr", self.lr, "positive")
