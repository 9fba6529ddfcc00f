"""Checkpoints from other projects: reading them without running code, and checking their keys.

A converter (one per upstream format, registered by the family's plugin) maps a foreign state
dict onto a zoo model. What every converter needs is here: ``read_checkpoint`` loads a file
with safetensors or ``torch.load(weights_only=True)`` (tensors and plain containers only; a
pickle that would construct objects is refused, never run), and ``match_keys`` compares a state
dict with the shapes it must have and raises one error naming the first offending keys.
"""

from __future__ import annotations

import argparse
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .errors import GenzooError
from .tensorfile import load_tensors

PICKLE_SUFFIXES = (".pkl", ".pickle")
SAFE_CLASSES = (argparse.Namespace,)
"""Classes the weights-only unpickler may build besides tensors and containers: training scripts save their
command-line arguments beside the weights, and a Namespace is a bag of attributes whose construction runs
nothing of the file's choosing."""


@dataclass
class Imported:
    """What a converter made of a checkpoint: the zoo model to build and its weights."""

    model: str
    """The registered model (or zoo.toml variant) name to build, e.g. "stylegan2-256"."""
    config: dict[str, Any]
    """Config fields on top of that model's, as read off the checkpoint's shapes."""
    weights: dict[str, torch.Tensor]
    """Tensors keyed as in the zoo model's state dict; modules absent here keep their fresh initialisation."""
    ema: dict[str, torch.Tensor] | None = None
    """Averaged weights of some modules (the pretrained folder's "ema" variant, loaded by default), keyed likewise."""
    details: dict[str, Any] = field(default_factory=dict)
    """What the model card and config.json record about the conversion (e.g. where the mean w came from)."""


TORCH_LEGACY_HEADS = tuple(pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=p)[:-1] for p in range(2, 6))
"""How a file in torch.save's pre-1.6 (non-zip) format begins: a pickled magic number, then the data. Such
files (the official CycleGAN's published horse2zebra.pth among them) start like a bare pickle but are
torch checkpoints, which ``torch.load(weights_only=True)`` reads with its restricted unpickler."""


def is_pickle(path: Path) -> bool:
    """A bare pickle (NVIDIA's .pkl files): not a zip archive (torch.save's format), nor torch.save's
    legacy format, nor safetensors."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with open(path, "rb") as f:
        head = f.read(32)
    if head.startswith(TORCH_LEGACY_HEADS):
        return False
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5 and not zipfile.is_zipfile(path)


def read_checkpoint(path: Path) -> Any:
    """The file's content as tensors and plain containers; nothing in it is executed.

    ``.safetensors`` files hold tensors only. Anything else goes through ``torch.load`` with
    ``weights_only=True``, whose unpickler builds tensors, numbers, strings and containers and
    refuses any other object, so a malicious file fails here instead of running.
    """
    if not path.is_file():
        raise GenzooError(f"{path} does not exist (or is not a file).")
    if path.suffix.lower() == ".safetensors":
        return load_tensors(path)[0]
    try:
        with torch.serialization.safe_globals(list(SAFE_CLASSES)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it holds a {found.group(1)}" if found else str(exc).strip().splitlines()[-1]
        raise GenzooError(
            f"{path} holds objects other than tensors and plain containers, which genzoo never unpickles "
            f"(torch.load(weights_only=True) refused it: {what}). Save the weights as a plain state dict "
            f"(torch.save(state_dict, 'weights.pth')) on a machine where you trust the file, then import that."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise GenzooError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: {exc}); "
                          f"it may be truncated, or in another format.") from None


def _show(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def match_keys(state: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]], where: str) -> None:
    """Raise one GenzooError naming the first missing, unexpected and wrongly shaped keys of ``state``.

    ``where`` names the file (and the part of it) in the message. Only tensors count: a key whose
    value is not a tensor is reported as wrongly shaped.
    """
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape) if torch.is_tensor(state[k]) else type(state[k]).__name__} "
             f"(expected {tuple(expected[k])})"
             for k in expected if k in state and (not torch.is_tensor(state[k]) or
                                                  tuple(state[k].shape) != tuple(expected[k]))]
    problems = [f"{label}: {_show(names)}" for label, names in
                (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if names]
    if problems:
        raise GenzooError(f"{where} does not match the expected layout ({'; '.join(problems)}).")


def shapes_of(module: torch.nn.Module, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """Every persistent parameter and buffer of ``module`` with its shape, keys prefixed."""
    return {prefix + k: tuple(v.shape) for k, v in module.state_dict().items()}
