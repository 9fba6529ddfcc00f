"""Resumable training checkpoints as one safetensors file.

A checkpoint holds everything that makes ``train(k) + resume -> N`` equal ``train(N)``
tensor for tensor: model and EMA weights, every optimiser's state, the RNG states and the
trainer's counters. Optimiser state dicts are nested Python structures; their tensors are
flattened into named entries and the rest goes into the JSON header, so no pickle is
written or read.

The newest checkpoint is ``last.safetensors`` (the name every run dir has had); each save renames
the previous one to ``step-NNNNNNN.safetensors`` beside it and keeps the ``keep`` newest in all.
Every file is written beside its name and renamed into place, and its header holds a sha256 of its
tensors (names, dtypes, shapes, bytes). Resume verifies the newest (a readable header, the checksum,
the model's tensor names and shapes) before anything is restored, and falls back to the previous
one with a warning naming the damaged file: a disk error or a copy cut short costs one checkpoint
interval, not the run. Files written before checksums existed are verified without one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .atomic import atomic_path
from .errors import GenzooError
from .tensorfile import META_KEY, load_tensors

_OLDER = re.compile(r"^step-(\d{7,})\.safetensors$")
log = logging.getLogger("genzoo.train")


class DamagedCheckpoint(GenzooError):
    """A checkpoint that fails verification (unreadable, checksum, or not this model's)."""


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order (CPU tensors)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def checkpoint_files(last: str | os.PathLike) -> list[Path]:
    """The checkpoints beside ``last`` that exist, newest first: ``last`` itself, then step-* by step."""
    last = Path(last)
    older = sorted((p for p in last.parent.glob("step-*.safetensors") if _OLDER.match(p.name)),
                   key=lambda p: int(_OLDER.match(p.name).group(1)), reverse=True)
    return ([last] if last.is_file() else []) + older


def _saved_step(path: Path) -> int | None:
    """The step a checkpoint holds, from its header alone; None when the header is unreadable."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return int(json.loads((f.metadata() or {})[META_KEY])["counters"]["step"])
    except (SafetensorError, OSError, ValueError, KeyError, TypeError):
        return None


def _rotate(last: Path, keep: int, writing: Path, step: int) -> None:
    """Make room for a new ``last`` of ``step``: the current one becomes step-N (unless ``keep`` is 1), and
    only the ``keep - 1`` newest older ones stay. A current one whose header is unreadable, or of this step
    or a later one (a second save of one step; files a resume from an older checkpoint left behind), is
    replaced or removed instead, so the kept ones are always the newest distinct steps before this one."""
    held = _saved_step(last) if last.is_file() else None
    if keep > 1 and held is not None and held < step:
        # a second name for the same file, not a rename: ``last`` stays in place until the new one
        # replaces it atomically, so no moment (or failed write) leaves a run without it
        kept = last.with_name(f"step-{held:07d}.safetensors")
        kept.unlink(missing_ok=True)
        try:
            os.link(last, kept)
        except OSError:  # a file system without hard links
            shutil.copyfile(last, kept)
    older = [p for p in checkpoint_files(last) if p != last]
    for old in [p for p in older if int(_OLDER.match(p.name).group(1)) >= step]:
        old.unlink(missing_ok=True)
        older.remove(old)
    for old in older[max(keep - 1, 0):]:
        old.unlink(missing_ok=True)
    for tmp in last.parent.glob(f".{last.name}.*.tmp"):  # left by a writer that was killed (the run dir is locked)
        if tmp.resolve() != writing.resolve():  # relative and absolute spellings of one file
            tmp.unlink(missing_ok=True)


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
    keep: int | None = None,
) -> None:
    """Write ``path`` atomically; with ``keep``, as a run dir's newest of ``keep`` (see the module's docstring).

    Without ``keep`` only ``path`` is written: rotation renames and deletes step-*.safetensors beside
    it, which is right in a run's checkpoints/ folder and wrong in a user's folder (the evaluator's
    OUT.checkpoint.safetensors lives beside their other files)."""
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
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}  # no shared storage
    meta["sha256"] = tensor_digest(tensors)
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta, sort_keys=True)})
        if keep is not None:  # only once the new one is complete: a failed write leaves every older file as it was
            _rotate(path, keep, tmp, int(counters["step"]))


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A checkpoint's tensors and header, verified against the checksum it carries."""
    try:
        tensors, meta = load_tensors(path)
    except GenzooError as exc:
        raise DamagedCheckpoint(str(exc)) from None
    missing = [k for k in ("counters", "optimizers", "schedulers") if k not in meta] + (
        ["rng.cpu"] if "rng.cpu" not in tensors else [])
    if missing:
        raise DamagedCheckpoint(f"{path} is not a genzoo checkpoint (its header lacks {', '.join(missing)}).")
    if "sha256" in meta and tensor_digest(tensors) != meta["sha256"]:
        raise DamagedCheckpoint(f"{path} fails its checksum: its tensors changed after it was written.")
    return tensors, meta


def _check_fits(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                model: torch.nn.Module, ema: Any | None, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Refuse, before anything is restored, a checkpoint whose tensors are not this model's."""
    want = {f"model.{k}": tuple(v.shape) for k, v in model.state_dict().items()}
    if ema is not None:
        want.update({f"ema.{k}": tuple(v.shape) for k, v in ema.state_dict().items()})
    have = {k: tuple(v.shape) for k, v in tensors.items() if k.startswith(("model.", "ema."))}
    differ = [f"{k} {have.get(k, 'missing')} vs {want.get(k, 'unexpected')}"
              for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k)]
    differ += [f"optimizer {name!r} missing" for name in optimizers if name not in meta["optimizers"]]
    if differ:
        raise DamagedCheckpoint(f"{path} does not fit this model (checkpoint vs model: {'; '.join(differ[:4])}"
                                f"{f' and {len(differ) - 4} more' if len(differ) > 4 else ''}).")


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module,
    ema: Any | None,
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
) -> dict[str, Any]:
    """Verify, then restore everything in place; returns the trainer counters."""
    tensors, meta = read_checkpoint(path)
    _check_fits(path, tensors, meta, model, ema, optimizers)
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


def load_latest_checkpoint(last: str | os.PathLike, **restore: Any) -> tuple[dict[str, Any], Path]:
    """Restore the newest checkpoint that verifies, warning about each newer one that does not.

    Returns its counters and path. ``restore`` is load_checkpoint's keywords. Nothing is restored
    from a damaged file: each is verified whole before the first tensor is copied.
    """
    files = checkpoint_files(last)
    if not files:
        raise GenzooError(f"cannot resume: {Path(last).parent} holds no checkpoint.")
    damaged = []
    for path in files:
        try:
            counters = load_checkpoint(path, **restore)
        except DamagedCheckpoint as exc:
            damaged.append(str(exc))
            later = files[files.index(path) + 1:]
            if later:
                log.warning("damaged checkpoint: %s Falling back to the previous one, %s.", exc, later[0])
            continue
        return counters, path
    raise GenzooError(f"cannot resume: every checkpoint is damaged: {' | '.join(damaged)}")
