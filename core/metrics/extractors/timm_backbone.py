"""Any timm backbone as a feature extractor: ``timm:NAME``, with the backbone's own preprocessing.

Weights come from a local file (safetensors or a weights-only torch file) or, without one,
from timm's own pretrained loading (the Hugging Face Hub; needs a network or a warm cache).
Features are timm's pooled pre-logits (``forward_head(pre_logits=True)``) and logits its
classifier's output. Resolution, mean/std and interpolation come from
``timm.data.resolve_data_config``, so the protocol records what the backbone was trained with;
small images are resized to that size without timm's centre crop, which would cut off the
borders of 28 x 28 digits.
"""

from __future__ import annotations

import difflib

import timm
import timm.data
import torch

from genzoo.core.errors import GenzooError

from .base import FeatureExtractor, load_state_file, match_channels, resize_to, state_dict_sha256


class TimmBackbone(FeatureExtractor):
    channels = 3

    def __init__(self, model: torch.nn.Module, name: str) -> None:
        super().__init__()

        self.model, self.name = model, name
        cfg = timm.data.resolve_data_config({}, model=model)
        self.input_size = int(cfg["input_size"][-1])
        self.interpolation = cfg.get("interpolation", "bilinear")
        if self.interpolation not in ("bilinear", "bicubic", "nearest"):
            self.interpolation = "bilinear"
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1), persistent=False)
        self.resize_mode = f"{self.interpolation}, antialias, no crop (timm data config)"
        self.normalize = f"mean={tuple(round(m, 4) for m in cfg['mean'])} std={tuple(round(s, 4) for s in cfg['std'])}"
        self.feature_dim = int(model.num_features)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x, self.last_channel_rule = match_channels(images.float() / 255.0, 3)
        antialias = self.interpolation != "nearest"
        x = resize_to(x, self.input_size, self.interpolation, antialias=antialias)
        if self.interpolation == "bicubic":
            x = x.clamp(0, 1)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        f = self.model.forward_features(x)
        pooled = self.model.forward_head(f, pre_logits=True)
        logits = self.model.forward_head(f) if self.model.num_classes else None
        return pooled, logits


def build_timm(name: str, *, weights: str | None = None) -> TimmBackbone:
    """``name`` is "timm:ARCH"; ``weights`` a local file, else timm's pretrained loading."""
    arch = name.split(":", 1)[1] if ":" in name else name
    if not timm.is_model(arch):

        close = difflib.get_close_matches(arch, timm.list_models(), n=3)
        raise GenzooError(f"timm has no model {arch!r}." + (f" Did you mean: {', '.join(close)}?" if close else ""))
    if weights:
        state = load_state_file(weights)
        model = timm.create_model(arch, pretrained=False, num_classes=_head_classes(state))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise GenzooError(f"{weights} does not fit timm's {arch}: {str(exc).splitlines()[0]}") from None
    else:
        try:
            model = timm.create_model(arch, pretrained=True)
        except Exception as exc:
            raise GenzooError(f"could not load pretrained weights for timm:{arch} ({type(exc).__name__}: {exc}); "
                              f"pass a local weights file with --features-weights PATH.") from None
        state = model.state_dict()
    extractor = TimmBackbone(model.eval(), f"timm:{arch}")
    extractor.weights_sha256 = state_dict_sha256(state)
    return extractor


def _head_classes(state: dict[str, torch.Tensor]) -> int:
    """The classifier width in a timm state dict (0 for a headless backbone), so the head fits the file."""
    for key in ("fc.weight", "head.fc.weight", "head.weight", "classifier.weight", "last_linear.weight"):
        if key in state and state[key].dim() == 2:
            return int(state[key].shape[0])
    return 0
