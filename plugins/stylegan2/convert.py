"""``genzoo import stylegan2 CHECKPOINT``: rosinality/stylegan2-pytorch checkpoints as zoo StyleGAN2s.

Those files are what most people hold: the official FFHQ/LSUN networks converted by that project's
convert_weight.py ({"g_ema": ..., "latent_avg": ...}, plus "g" and "d" when asked for) and its own
training checkpoints ("g", "d", "g_ema", optimiser states, args). The zoo's module names are that
project's, so the mapping is a prefix; what is checked here is that the file is that layout and
which configuration it is, read off the shapes: resolution (the toRGB layers), style dimension and
mapping depth (style.N), channel widths (per resolution, giving the channel multiplier). The fixed
blur kernels upstream stores as buffers are compared with the zoo's constants and dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from genzoo.core.errors import GenzooError
from genzoo.core.importing import Imported, match_keys, shapes_of

from .config import StyleGAN2Config
from .model import Discriminator, Generator, widths

MEAN_W_SAMPLES = 4096
"""z's mapped to estimate the mean w when a checkpoint has no latent_avg (rosinality's generate.py does the same)."""


def _count(state: dict[str, Any], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.fullmatch(k))})


def infer_config(g: dict[str, Any], where: str) -> StyleGAN2Config:
    """The configuration whose generator has these shapes (checked key by key afterwards)."""
    for key in ("style.1.weight", "input.input", "to_rgb1.bias"):
        if key not in g or not torch.is_tensor(g[key]):
            raise GenzooError(f"{where} is not a rosinality/stylegan2-pytorch generator: it has no tensor {key!r} "
                              f"(its first keys: {', '.join(list(g)[:5]) or 'none'}).")
    const = g["input.input"].shape
    start, n_rgb = const[-1], _count(g, r"to_rgbs\.(\d+)\.bias")
    observed = {start: const[1]}  # channels per resolution: each toRGB's input (a missing one fails the key check)
    for i in range(n_rgb):
        if torch.is_tensor(rgb := g.get(f"to_rgbs.{i}.conv.weight")) and rgb.dim() == 5:
            observed[start * 2 ** (i + 1)] = rgb.shape[2]
    base = {"image_size": start * 2 ** n_rgb, "channels": g["to_rgb1.bias"].shape[1],
            "style_dim": g["style.1.weight"].shape[1], "n_mlp": _count(g, r"style\.(\d+)\.weight"),
            "channel_max": const[1]}
    try:
        for multiplier in (2, 1, 4, 3):
            config = StyleGAN2Config(**base, channel_multiplier=multiplier)
            if widths(config) == observed:
                return config
    except (GenzooError, TypeError) as exc:
        raise GenzooError(f"{where}: its shapes describe no StyleGAN2 the zoo can build ({exc}).") from None
    raise GenzooError(f"{where}: its channels per resolution {observed} follow no channel multiplier (1-4) of "
                      f"the StyleGAN2 layout.")


def _take(part: dict[str, Any], module: torch.nn.Module, where: str) -> dict[str, torch.Tensor]:
    """``part``'s tensors for ``module``, after checking every key and shape and the stored blur kernels."""
    persistent = shapes_of(module)
    kernels = {k: v for k, v in module.named_buffers() if k not in persistent}  # the blur constants
    match_keys(part, {**{k: s for k, s in persistent.items() if k != "w_avg"},
                      **{k: tuple(v.shape) for k, v in kernels.items()}}, where)
    for key, kernel in kernels.items():
        if not torch.allclose(part[key].float(), kernel, atol=1e-6):
            raise GenzooError(f"{where}: {key} is not the [1, 3, 3, 1] blur kernel StyleGAN2 uses; "
                              "a model with another resampling filter is not this architecture.")
    return {k: v.float() for k, v in part.items() if k not in kernels}


def from_rosinality(state: Any, source: Path) -> Imported:
    if not isinstance(state, dict) or not isinstance(state.get("g_ema"), dict):
        keys = ", ".join(map(str, list(state)[:6])) if isinstance(state, dict) else type(state).__name__
        raise GenzooError(f"{source} is not a rosinality/stylegan2-pytorch checkpoint: it has no 'g_ema' state dict "
                          f"(it holds: {keys or 'nothing'}).")
    config = infer_config(state["g_ema"], f"{source} (g_ema)")
    with torch.device("meta"):  # shapes only: a 1024-pixel model's tensors are not allocated twice
        shapes_g, shapes_d = Generator(config), Discriminator(config)
    g_ema = _take(state["g_ema"], shapes_g, f"{source} (g_ema)")
    details: dict[str, Any] = {"size": config.image_size, "n_mlp": config.n_mlp,
                               "channel_multiplier": config.channel_multiplier}
    w_avg = state.get("latent_avg")
    if w_avg is not None:
        if not torch.is_tensor(w_avg) or w_avg.numel() != config.style_dim:
            raise GenzooError(f"{source}: latent_avg has shape {tuple(getattr(w_avg, 'shape', ()))}; "
                              f"expected ({config.style_dim},) for this generator's w.")
        w_avg = w_avg.float().reshape(config.style_dim)
        details["w_avg"] = "latent_avg from the checkpoint"
    else:
        mapping = Generator(config).style
        mapping.load_state_dict({k[len("style."):]: v for k, v in g_ema.items() if k.startswith("style.")})
        with torch.no_grad():
            z = torch.randn(MEAN_W_SAMPLES, config.style_dim, generator=torch.Generator().manual_seed(0))
            w_avg = mapping(z).mean(0)
        details["w_avg"] = f"no latent_avg in the checkpoint: mean of {MEAN_W_SAMPLES} mapped z (seed 0)"
    g_ema["w_avg"] = w_avg
    weights = {f"generator.{k}": v for k, v in g_ema.items()}
    ema = None
    if isinstance(state.get("g"), dict):  # the raw generator too: the ema variant is g_ema, the default
        raw = _take(state["g"], shapes_g, f"{source} (g)")
        ema, weights = weights, {f"generator.{k}": v for k, v in {**raw, "w_avg": w_avg}.items()}
    if isinstance(state.get("d"), dict):
        weights.update({f"discriminator.{k}": v for k, v in _take(state["d"], shapes_d, f"{source} (d)").items()})
    details["parts"] = [p for p in ("g_ema", "g", "d") if isinstance(state.get(p), dict)]
    name = f"stylegan2-{config.image_size}" if _official(config) else "stylegan2"
    fields = ("image_size", "channels", "style_dim", "n_mlp", "channel_multiplier", "channel_max")
    return Imported(model=name, config={f: getattr(config, f) for f in fields}, weights=weights, ema=ema,
                    details=details)


def _official(c: StyleGAN2Config) -> bool:
    """Whether the zoo.toml variant stylegan2-256 / -1024 is this configuration (the paper's config F)."""
    return (c.image_size in (256, 1024) and c.channels == 3 and c.style_dim == 512 and c.n_mlp == 8
            and c.channel_multiplier == 2 and c.channel_max == 512)
