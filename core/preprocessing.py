"""What a model expects of its images, declared as data (no torch here).

A plugin attaches a Preprocessing to each model it registers; the image size and channel
count come from the model's own config, so a variant that changes ``image_size`` changes
what the data pipeline produces. The tensor work itself lives in genzoo.core.data.transforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import check, option

Normalize = Literal["minus_one_one", "zero_one", "dequantize", "uint8"]


@dataclass(frozen=True)
class Preprocessing:
    normalize: Normalize = option(
        "minus_one_one",
        "How uint8 pixels become model inputs: minus_one_one (GANs, tanh outputs), zero_one "
        "(Bernoulli/Gaussian decoders), dequantize (uniform noise + [0,1], for flows), uint8 "
        "(raw integer levels as float, for autoregressive models).",
    )
    resize: Literal["resize", "center_crop", "pad"] = option(
        "resize", "How source images reach the model size: resize (bilinear), center_crop, or pad."
    )
    hflip: bool = option(False, "Random horizontal flips (off for digits: a flipped 3 is not a 3).")
    rotation: float = option(0.0, "Random rotation up to this many degrees, either way.")
    crop_scale: float = option(
        1.0, "Random resized crop keeping at least this fraction of the side (1.0 = off)."
    )

    def __post_init__(self) -> None:
        check(0.0 <= self.rotation <= 180.0, "preprocessing.rotation", self.rotation, "0..180 degrees")
        check(0.1 <= self.crop_scale <= 1.0, "preprocessing.crop_scale", self.crop_scale, "0.1..1.0")

    @property
    def augments(self) -> bool:
        return self.hflip or self.rotation > 0 or self.crop_scale < 1.0
