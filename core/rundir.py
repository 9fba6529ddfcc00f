"""The run directory: the one place that knows what a training run leaves on disk.

    RUN/run.json                       everything needed to resume (model, config, recipe, data, command),
                                       and its status: running, finished, stopped, diverged or failed
    RUN/checkpoints/last.safetensors   model, EMA, optimiser and RNG state, counters (the newest)
    RUN/checkpoints/step-NNNNNNN.safetensors   the previous ones (train.keep_checkpoints in all)
    RUN/.genzoo-lock(.json)            held while a run writes here (genzoo.core.runlock)
    RUN/metrics.jsonl                  one JSON object per log interval or evaluation
    RUN/samples/step-NNNNNNN.png       sample grids
    RUN/pretrained/                    the finished weights (see genzoo.core.pretrained)

The trainer, the Python API, the CLI, the hub and the benchmark all go through this
object, so a file is named once and "a run dir or a pretrained folder -> the pretrained
folder" is decided by one function, ``pretrained_folder``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import DiskFull, atomic_write_text, disk_full_reason
from .errors import GenzooError

RUN_FILE = "run.json"
CHECKPOINT = "checkpoints/last.safetensors"
STATUSES = ("running", "finished", "stopped", "diverged", "failed")
METRICS = "metrics.jsonl"
SAMPLES = "samples"
PRETRAINED = "pretrained"
PRETRAINED_CONFIG = "config.json"  # the file that makes a folder a pretrained folder (core.pretrained.CONFIG)


@dataclass(frozen=True)
class RunDir:
    """A training run's folder; the files are properties, so no caller spells a name."""

    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def samples(self) -> Path:
        return self.path / SAMPLES

    @property
    def pretrained(self) -> Path:
        return self.path / PRETRAINED

    def grid(self, step: int) -> Path:
        return self.samples / f"step-{step:07d}.png"

    def is_run(self) -> bool:
        return self.run_file.is_file()

    def is_finished(self) -> bool:
        return (self.pretrained / PRETRAINED_CONFIG).is_file()

    def read(self) -> dict[str, Any]:
        """run.json, with errors that say what the folder is and what to do."""
        try:
            record = json.loads(self.run_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GenzooError(f"{self.path} is not a genzoo run (it has no {RUN_FILE}); "
                              f"give the folder `genzoo train --out` wrote.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GenzooError(f"{self.run_file} is not valid JSON ({exc}).") from None
        if not isinstance(record, dict) or "model" not in record:
            raise GenzooError(f"{self.run_file} has no 'model' field; it was not written by genzoo.")
        return record

    def write(self, record: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_file, json.dumps(record, indent=2) + "\n")

    def set_status(self, status: str, **details: Any) -> None:
        """Record how the run stands in run.json ("status", and e.g. "reason" and "step")."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        record = {k: v for k, v in self.read().items() if k not in ("status", "status_detail")}
        self.write({**record, "status": status, **({"status_detail": details} if details else {})})

    def status(self) -> str:
        """run.json's status; "" for a run written before statuses were recorded."""
        return str(self.read().get("status", ""))

    def append_log(self, row: dict[str, Any]) -> None:
        """Append one row; a row the disk has no room for is cut back off, so no half line stays."""
        data = (json.dumps(row) + "\n").encode("utf-8")
        fd = os.open(self.metrics, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError as exc:
                os.ftruncate(fd, start)
                if reason := disk_full_reason(exc):
                    raise DiskFull(self.metrics, reason) from None
                raise
        finally:
            os.close(fd)

    def drop_logs_after(self, step: int) -> None:
        """Keep only the rows of steps up to ``step``: on resume from a checkpoint of that step, the
        rows a killed session logged after it describe steps that are trained again, and kept they
        would make every curve and time total read two timelines as one."""
        rows = self.read_logs()
        kept = [r for r in rows if int(r.get("step", 0)) <= step]
        if len(kept) != len(rows):
            atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))

    def read_logs(self) -> list[dict[str, Any]]:
        """Every row of metrics.jsonl; a line cut short by a kill is skipped, not fatal."""
        if not self.metrics.is_file():
            return []
        rows = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows


def pretrained_folder(path: str | os.PathLike) -> Path:
    """A run dir or a pretrained folder -> the pretrained folder; a clear error for anything else."""
    folder = Path(path).expanduser()
    run = RunDir(folder)
    if run.is_run():
        if not run.is_finished():
            raise GenzooError(f"run {folder} has no {PRETRAINED}/ folder yet; finish it with "
                              f"`genzoo train --resume {folder}`.")
        return run.pretrained
    if not (folder / PRETRAINED_CONFIG).is_file():
        raise GenzooError(f"{folder} is not a pretrained folder (no {PRETRAINED_CONFIG}) and not a run dir "
                          f"(no {RUN_FILE}); give the folder `genzoo train` or save_pretrained wrote.")
    return folder


def is_model_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a run dir or a pretrained folder (as opposed to, say, a folder of images)."""
    folder = Path(path).expanduser()
    return RunDir(folder).is_run() or (folder / PRETRAINED_CONFIG).is_file()


def usage_location(folder: str | os.PathLike) -> str:
    """What users pass to ``genzoo.create_model`` to load a pretrained folder, as its card says: the run
    dir for a run's pretrained/ folder (``create_model`` takes either), else the folder, as an absolute path."""
    folder = Path(folder).expanduser().resolve()
    run = RunDir(folder.parent)
    return str(run.path) if run.pretrained == folder and run.is_run() else str(folder)


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """A pretrained folder's config.json, checked to be one save_pretrained wrote."""
    path = Path(directory) / PRETRAINED_CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenzooError(f"{directory} is not a pretrained folder: it has no {PRETRAINED_CONFIG}.") from None
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{path} is not valid JSON ({exc}).") from None
    for key in ("name", "config"):
        if not isinstance(data, dict) or key not in data:
            raise GenzooError(f"{path} lacks the field {key!r}; it was not written by genzoo's save_pretrained.")
    return data
