"""``genzoo import cyclegan CHECKPOINT``: generators saved by the official CycleGAN/pix2pix PyTorch code.

junyanz/pytorch-CycleGAN-and-pix2pix saves each network's state dict on its own (``latest_net_G_A.pth``,
``200_net_G_B.pth``) and publishes pretrained generators the same way (``horse2zebra.pth``). Its
ResnetGenerator (``--netG resnet_9blocks`` / ``resnet_6blocks``, instance norm, reflection padding,
transposed-conv upsampling) is the zoo's generator layer for layer; with ``layout="official"`` the keys
are the same too (``model.10.conv_block.1.weight``), so the mapping is a prefix. Files saved by PyTorch
before 0.4 carry InstanceNorm running statistics the layers never use; they are dropped, as the
official loader does. The width, block count, channels and dropout are read off the shapes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from genzoo.core.errors import GenzooError
from genzoo.core.importing import Imported, match_keys, read_checkpoint, shapes_of

from .model import ResnetGenerator

STALE = (".running_mean", ".running_var", ".num_batches_tracked")
"""Keys of InstanceNorm statistics older PyTorch saved; the official code's loader deletes them too."""
SIZE = 256
"""The official test script's input size (load_size = crop_size = 256): images are resized to it."""


def _generator(state: Any, where: str) -> tuple[dict[str, torch.Tensor], dict[str, Any], int]:
    """The checked state of one official ResnetGenerator, its config fields and the statistics dropped."""
    if not isinstance(state, dict) or not state:
        raise GenzooError(f"{where} is not a generator state dict (it holds a {type(state).__name__}).")
    if "model.1.weight" not in state or not torch.is_tensor(state["model.1.weight"]):
        keys = ", ".join(map(str, list(state)[:5]))
        raise GenzooError(f"{where} is not an official CycleGAN ResnetGenerator: it has no 'model.1.weight' "
                          f"(its first keys: {keys}). U-Net generators (unet_256) are not supported.")
    dropped = [k for k in state if isinstance(k, str) and k.endswith(STALE)]
    state = {k: v for k, v in state.items() if k not in dropped}
    first = state["model.1.weight"]  # (ngf, input_nc, 7, 7)
    blocks = sorted({int(m.group(1)) for k in state if (m := re.fullmatch(r"model\.(\d+)\.conv_block\..*", str(k)))})
    dropout = any(re.fullmatch(r"model\.\d+\.conv_block\.6\.weight", str(k)) for k in state)
    fields = {"channels": first.shape[1], "g_width": first.shape[0], "n_blocks": len(blocks), "dropout": dropout}
    if fields["channels"] not in (1, 3):
        raise GenzooError(f"{where}: model.1.weight has {fields['channels']} input channels; the zoo's CycleGAN "
                          "takes 1 or 3.")
    with torch.device("meta"):
        expected = shapes_of(ResnetGenerator(fields["channels"], fields["g_width"], fields["n_blocks"], dropout,
                                             layout="official"))
    match_keys(state, expected, where)
    return {k: v.float() for k, v in state.items()}, fields, len(dropped)


def _partner(source: Path) -> Path | None:
    """``*_net_G_B.pth`` beside a ``*_net_G_A.pth``: a training run's other generator."""
    if not source.name.endswith("_net_G_A.pth"):
        return None
    other = source.with_name(source.name[: -len("G_A.pth")] + "G_B.pth")
    return other if other.is_file() else None


def from_official(state: Any, source: Path) -> Imported:
    g_ab, fields, dropped = _generator(state, str(source))
    weights = {f"g_ab.{k}": v for k, v in g_ab.items()}
    details: dict[str, Any] = {"generator": f"resnet_{fields['n_blocks']}blocks, ngf {fields['g_width']}"}
    partner = _partner(source)
    if partner is not None:  # both directions of a training run: G_A is A->B, G_B is B->A
        g_ba, other, more = _generator(read_checkpoint(partner), str(partner))
        if other != fields:
            raise GenzooError(f"{partner} is not the same architecture as {source} ({other} vs {fields}).")
        weights.update({f"g_ba.{k}": v for k, v in g_ba.items()})
        details["b2a"] = partner.name
        dropped += more
    if dropped:
        details["dropped"] = f"{dropped} InstanceNorm running-statistics entries (unused by the layers)"
    config = {"image_size": SIZE, **fields, "layout": "official", "generators": "both" if partner else "a2b",
              "d_width": 64, "d_layers": 3}
    return Imported(model="cyclegan", config=config, weights=weights, details=details)
