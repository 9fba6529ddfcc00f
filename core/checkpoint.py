"""Resumable training checkpoints as one safetensors file.

A checkpoint holds everything that makes ``train(k) + resume -> N`` equal ``train(N)``
tensor for tensor: model and EMA weights, every optimiser's state, the RNG states and the
trainer's counters. Optimiser state dicts are nested Python structures; their tensors are
flattened into named entries and the rest goes into the JSON header, so no pickle is
written or read.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from .tensorfile import load_tensors, save_tensors


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    sd = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, scalars in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(scalars)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module,
    ema: dict[str, torch.Tensor] | None,
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
    counters: dict[str, Any],
) -> None:
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in (ema or {}).items()})
    optim_meta = {name: _flatten_optimizer(f"optim.{name}", opt, tensors) for name, opt in optimizers.items()}
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    meta = {
        "counters": counters,
        "optimizers": optim_meta,
        "schedulers": {n: s.state_dict() for n, s in schedulers.items()},
    }
    save_tensors(path, tensors, meta)


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module,
    ema: Any | None,
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
) -> dict[str, Any]:
    """Restore everything in place; returns the trainer counters."""
    tensors, meta = load_tensors(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if ema is not None:
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    for name, opt in optimizers.items():
        opt.load_state_dict(_unflatten_optimizer(f"optim.{name}", meta["optimizers"][name], tensors))
    for name, sched in schedulers.items():
        sched.load_state_dict(meta["schedulers"][name])
    torch.set_rng_state(tensors["rng.cpu"])
    cuda_states = [tensors[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count()) if f"rng.cuda.{i}" in tensors]
    if cuda_states:
        torch.cuda.set_rng_state_all(cuda_states)
    return meta["counters"]
