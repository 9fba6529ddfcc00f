"""Per-image anomaly scores from a likelihood or reconstruction model (``genzoo score``).

A model trained on "normal" images scores new ones with ``ZooModel.anomaly_score``: the
negative log-likelihood where the family has one (flows, VAEs, autoregressive models),
else the reconstruction error (autoencoders). Higher means more anomalous. Images are
normalised exactly as in training; for dequantising models the noise comes from a fixed
seed, so a rerun gives the same scores.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from genzoo.core.data.transforms import normalize
from genzoo.core.errors import GenzooError
from genzoo.core.model import ZooModel
from genzoo.core.progress import Progress

MEANINGS = {
    "log_prob": "score = negative log-likelihood in nats of the 8-bit image (higher = more anomalous); "
                "bits/dim = score / (D ln 2)",
    "reconstruct": "score = mean squared reconstruction error per pixel, in the model's input space "
                   "(higher = more anomalous)",
}


def score_meaning(model: Any) -> str:
    """What the numbers in the score column are, for the CSV header."""
    own = getattr(model, "anomaly_score_meaning", None)
    if own:
        return f"score = {own}"
    if type(model).anomaly_score is not ZooModel.anomaly_score:
        return f"score = {model.family}'s own anomaly_score (higher = more anomalous)"
    return MEANINGS["log_prob" if "log_prob" in model.capabilities else "reconstruct"]


def check_can_score(model: Any) -> None:
    caps = model.capabilities
    if "log_prob" in caps or "reconstruct" in caps or type(model).anomaly_score is not ZooModel.anomaly_score:
        return
    raise GenzooError(
        f"{model.family} has no log_prob and no reconstruct, so it cannot score images "
        f"(it can: {', '.join(sorted(caps))}); use a flow, VAE, autoencoder or PixelCNN."
    )


def score_images(model: Any, images: Any, *, batch_size: int = 256, seed: int = 0,
                 progress: bool | None = None) -> Any:
    """Anomaly scores (a float64 CPU tensor, one per image) of a uint8 ImageSet or (N, C, H, W) tensor."""
    check_can_score(model)
    pixels = getattr(images, "images", images)
    mode = model.preprocessing.normalize
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    scores = []
    bar = Progress(len(pixels), 0, f"scoring {model.meta.name or model.family}",
                   sys.stderr.isatty() if progress is None else progress)
    try:
        with torch.no_grad():
            for start in range(0, len(pixels), batch_size):
                chunk = pixels[start:start + batch_size]
                noise = normalize(chunk, mode, generator=generator)  # one seeded stream: reproducible
                scores.append(model.anomaly_score(noise.to(model.device)).double().cpu())
                bar.update(start + len(chunk))
    finally:
        bar.close()
    return torch.cat(scores)
