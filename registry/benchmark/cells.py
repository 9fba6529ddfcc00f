"""Cells: one model trained with one seed and scored under the suite's protocol.

A cell's key is the sha256 of everything that decides its numbers: the model name, its
resolved config, training recipe and preprocessing, the versions of the code that trains it
(genzoo's and its plugin distribution's), the data, the budget, the seed and the evaluation
protocol (with the extractor's weight digest). Changing any of them makes a new cell;
changing nothing reuses the finished one. A cell lives in OUT/cells/KEY/ (with its training
run, a genzoo.core.rundir run dir, in OUT/cells/KEY/run) and is finished exactly when its
result.json exists: that file is written atomically as the last step, so a cell killed
half-way has none. The next run continues a killed cell's training from its last checkpoint
(``checkpoint_every``; the trainer's resume is exact, so the result is the one an unbroken run
gives), keeps a training that had finished, and redoes everything else; a cell that failed
(error.json) starts again clean. A
process runs a cell only while it holds the cell's claim (``claim``), whichever executor
started it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from genzoo.core import version
from genzoo.core.atomic import atomic_write_text
from genzoo.core.config import config_identity
from genzoo.core.errors import ConfigError, GenzooError
from genzoo.core.rundir import RunDir

from ..hub import is_location
from ..zoo import get_zoo
from .suite import Suite, SuiteModel

CELL_FILE, RESULT_FILE, ERROR_FILE = "cell.json", "result.json", "error.json"
RUN_DIR = "run"  # the training run of a cell with a training budget (genzoo.core.rundir's layout)
KEY_CHARS = 16  # folder names; the full digest is kept in cell.json
CHECKPOINT_SHARE, MIN_CHECKPOINT_STEPS = 20, 50  # see checkpoint_every


@dataclass(frozen=True)
class Cell:
    model: SuiteModel
    seed: int
    identity: dict[str, Any]
    key: str

    @property
    def name(self) -> str:
        return f"{self.model.label} (seed {self.seed})"

    def dir(self, out: Path) -> Path:
        return Path(out) / "cells" / self.key[:KEY_CHARS]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.model.label, "seed": self.seed, "model": self.model.to_dict(),
                "identity": self.identity}


def cell_run(cell_dir: Path) -> RunDir:
    """The training run inside a cell's folder (``OUT/cells/KEY/run``)."""
    return RunDir(Path(cell_dir) / RUN_DIR)


def cell_key(identity: dict[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def train_overrides(model: SuiteModel, suite: Suite, seed: int) -> dict[str, Any]:
    """Trainer fields for one cell: the bench's quiet defaults, then the suite's, the model's, the seed.

    A benchmark keeps only the final weights and grid, so periodic grids and checkpoints are
    off unless asked for; losses are logged often enough to draw a curve of a short run.
    """
    quiet: dict[str, Any] = {"sample_every": 0, "checkpoint_every": 0}
    if model.budget.kind == "steps":
        quiet["log_every"] = max(1, min(50, int(model.budget.value) // 40))
    out = {**quiet, **suite.train, **model.train, "seed": seed}
    if model.budget.kind == "steps":
        out["steps"] = int(model.budget.value)
    elif model.budget.kind == "epochs":
        out["epochs"] = int(model.budget.value)
    elif model.budget.kind == "minutes":
        out["max_minutes"] = float(model.budget.value)
        out["steps"] = 1_000_000_000  # the clock ends the run
    return out


def resolved_model(model: SuiteModel, suite: Suite, seed: int) -> dict[str, Any]:
    """The model's typed config, recipe and preprocessing after the suite's and its own overrides.

    Hub locations are identified by the location itself (a pinned @revision pins the weights).
    """
    if is_location(model.model):
        return {"location": model.model, "config": model.config}
    entry = get_zoo().model(model.model)
    where = f"{suite.path}: [suites.{suite.name}] model {model.label!r}"
    try:
        config = entry.make_config(model.config)
        recipe = entry.make_recipe(train_overrides(model, suite, seed))
        prep = entry.make_preprocessing(model.preprocessing)
    except GenzooError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if model.budget.kind == "pretrained":
        return {"hub": entry.hub, "config": config_identity(config)}
    return {"config": config_identity(config), "train": config_identity(recipe), "preprocessing": config_identity(prep),
            "code": code_versions(entry.plugin)}


def code_versions(plugin: str) -> dict[str, str]:
    """genzoo's version and that of the distribution the model's plugin was loaded from.

    A new release may change a loss, an initialisation or the EMA without touching any
    config field, so a cell trained by older code must not be reused as if it were current.
    (An editable install keeps its version across edits: there, delete OUT/cells after
    changing training code.)
    """
    versions = {"genzoo": version.__version__}  # looked up at each call (a test patches it)
    info = get_zoo().plugins.get(plugin)
    if info is not None and info.distribution not in ("", "genzoo"):
        versions[info.distribution] = info.version
    return versions


def plan(suite: Suite, extractor_id: dict[str, Any] | None = None) -> list[Cell]:
    """Every cell of the suite, model by model, seed by seed.

    A pretrained model has nothing to seed (its weights are fixed and the evaluation seed is
    part of the protocol), so it gets one cell, not one per seed.
    """
    protocol = {**suite.protocol.to_dict(), "extractor": extractor_id or {}}
    cells = []
    for m in suite.models:
        seeds = suite.seeds[:1] if m.budget.kind == "pretrained" else suite.seeds
        for seed in seeds:
            identity = {"model": m.model, "resolved": resolved_model(m, suite, seed), "data": suite.protocol.data,
                        "budget": m.budget.to_dict(), "seed": seed, "protocol": protocol}
            if m.metrics:  # only when set, so the keys of suites without it stay what they were
                identity["metrics"] = list(m.metrics)
            cells.append(Cell(m, seed, identity, cell_key(identity)))
    return cells


def finished(cell_dir: Path) -> dict[str, Any] | None:
    """The cell's result when it finished; None when it has not (or its result is unreadable)."""
    try:
        return json.loads((cell_dir / RESULT_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def last_error(cell_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((cell_dir / ERROR_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def checkpoint_every(cell: Cell) -> int:
    """How often a cell's training writes a checkpoint: every twentieth of its steps (down to a
    multiple of the log interval), so a killed cell (a session or allocation that ended, a lost
    node) loses at most 5 % of its training.

    Cells shorter than ``CHECKPOINT_SHARE * MIN_CHECKPOINT_STEPS`` steps restart whole instead:
    their checkpoints would cost more than they save. Wall-clock budgets (the clock cannot be
    resumed) and epoch budgets (their length is known only once the data is loaded) are not
    checkpointed. The cadence is not part of the cell's identity: it changes no number.
    """
    recipe = cell.identity["resolved"].get("train")
    if not recipe or recipe.get("max_minutes") or recipe.get("epochs"):
        return 0
    every = int(recipe["steps"]) // CHECKPOINT_SHARE
    every -= every % max(1, int(recipe.get("log_every", 1)))  # a logged step: the log is cut back to it on resume
    return every if every >= MIN_CHECKPOINT_STEPS else 0


def prepare(cell: Cell, out: Path) -> tuple[Path, bool]:
    """The folder for a cell about to run, and whether its training resumes.

    A killed attempt that left a checkpoint of this very cell, or its finished training, keeps its
    training run (the run continues from the checkpoint, or is only scored again); anything else an
    attempt left, a failed one's included, is removed.
    """
    d = cell.dir(out)
    if (d / RESULT_FILE).exists():
        raise GenzooError(f"{d} is already finished; refusing to overwrite it.")
    if resumable(cell, d):
        for p in d.iterdir():
            if p.name not in (CELL_FILE, RUN_DIR):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        return d, True
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / CELL_FILE).write_text(json.dumps(cell.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return d, False


def resumable(cell: Cell, cell_dir: Path) -> bool:
    """A run of this cell's key with a checkpoint (or already trained), left by an attempt that was
    killed: one that failed wrote error.json, and resuming it would most likely fail the same way."""
    run = cell_run(cell_dir)
    if (cell_dir / ERROR_FILE).exists() or not (run.checkpoint.is_file() or run.is_finished()):
        return False
    try:
        return json.loads((cell_dir / CELL_FILE).read_text(encoding="utf-8"))["key"] == cell.key
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_result(cell_dir: Path, result: dict[str, Any]) -> Path:
    atomic_write_text(cell_dir / RESULT_FILE, json.dumps(result, indent=2, default=str) + "\n")
    return cell_dir / RESULT_FILE


def write_diverged(cell: Cell, cell_dir: Path, message: str, step: int, seconds: float) -> dict[str, Any]:
    """A cell whose training diverged: finished (the same seed would diverge again, so it is not retried),
    with no scores; the reports show it as "diverged"."""
    result = {"status": "diverged", "key": cell.key, "label": cell.model.label, "model": cell.model.model,
              "seed": cell.seed, "budget": cell.model.budget.to_dict(), "steps": step, "diverged": message,
              "train_seconds": round(seconds, 3)}
    write_result(cell_dir, result)
    return result


def write_error(cell_dir: Path, error: dict[str, Any]) -> None:
    cell_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cell_dir / ERROR_FILE, json.dumps(error, indent=2, default=str) + "\n")


def claim(cell: Cell, out: Path) -> FileLock:
    """The cell's claim: held while a process runs it, so that two executors sharing OUT (a local pool
    and a Ray cluster, two machines' Slurm jobs) never run one cell at once; the second waits, then finds
    it finished and reuses it. An OS lock (flock) on OUT/cells/KEY.lock, beside the cell's folder
    (which a rerun wipes): the kernel releases it when its holder dies, however it dies. On a shared
    file system this needs working file locks (NFSv4, Lustre and GPFS have them)."""
    folder = cell.dir(out)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder.with_name(folder.name + ".lock")), thread_local=False)
