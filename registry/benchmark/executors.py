"""Where a suite's cells run: ``--executor local`` (the process pool, the default), ``ray[:ADDRESS]`` or
``slurm[:PARTITION]``.

An executor only starts tasks and says when each has ended; everything else is the cell's own:
a task runs ``run_cell`` (which claims the cell, trains, scores and writes its folder in OUT), and
the driver reads the outcome back from that folder (``collect``), never from the engine. So results,
resuming after a kill, reused cells and the reports are the same whichever engine ran the cells, and
OUT must be a folder every worker sees (a shared file system on a cluster). Nothing genzoo keeps
travels as a pickle; the engines pickle only the task they ship (a function and the suite).

Ray: each cell is a task reserving the suite's ``resources.cpus_per_task`` CPUs (default 1) and one
GPU when the cluster has GPUs; ``ray`` alone connects to $RAY_ADDRESS or starts a local instance,
``ray:ADDRESS`` (e.g. ``ray:auto``, ``ray:10.0.0.1:6379``) joins that cluster. Slurm, through
submitit: one job array, a task per cell, with the suite's resources (time, CPUs, GPUs, memory) and
``--partition`` from ``slurm:PARTITION``; job scripts and logs go to OUT/slurm.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genzoo.core.errors import ConfigError
from genzoo.core.extras import require

from .cells import Cell
from .suite import Resources

Task = Callable[[Cell], Any]
Setup = Callable[[int], None]
Collect = Callable[..., dict[str, Any]]
Report = Callable[[Cell, dict[str, Any]], None]
ENV_PREFIXES = ("GENZOO_", "HF_")  # what a worker must see as the driver does: data root, cache, offline mode


def run_in_worker(task: Task, setup: Setup, threads: int, cell: Cell) -> None:
    """A cell's task on a worker: its share of the cores first, then the cell (which writes its own folder)."""
    setup(threads)
    task(cell)


class Executor:
    """Runs cells somewhere else than this process's pool; ``run`` returns once every cell has ended."""

    name = ""

    def __init__(self, resources: Resources | None = None) -> None:
        self.resources = resources or Resources()

    @property
    def threads(self) -> int:
        return self.resources.cpus_per_task or 1

    def describe(self) -> str:
        return self.name

    def run(self, cells: list[Cell], task: Task, setup: Setup, collect: Collect, report: Report) -> None:
        raise NotImplementedError


def driver_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str = "", resources: Resources | None = None) -> None:
        super().__init__(resources)
        self.address = address

    def describe(self) -> str:
        return f"ray ({self.address or os.environ.get('RAY_ADDRESS') or 'local instance'})"

    def run(self, cells: list[Cell], task: Task, setup: Setup, collect: Collect, report: Report) -> None:
        ray = require("ray", "ray", "--executor ray")
        started = not ray.is_initialized()
        if started:  # an address, $RAY_ADDRESS, or a new local instance
            ray.init(address=self.address or None, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": driver_env()})
        try:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            remote = ray.remote(run_in_worker).options(num_cpus=self.threads, num_gpus=gpus, max_retries=0)
            refs = {remote.remote(task, setup, self.threads, c): c for c in cells}
            pending = list(refs)
            try:
                while pending:
                    ready, pending = ray.wait(pending, num_returns=1)
                    cell = refs[ready[0]]
                    try:
                        ray.get(ready[0])
                        why = ""
                    except Exception as exc:  # the worker died (OOM kill, node lost) or the task raised
                        why = f"ray task failed: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}"
                    report(cell, collect(cell, why=why))
            except KeyboardInterrupt:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            if started:
                ray.shutdown()


class SlurmExecutor(Executor):
    """A job array through submitit; ``cluster`` "local" runs the same array as local processes (tests)."""

    name = "slurm"

    def __init__(self, partition: str = "", resources: Resources | None = None, folder: str | Path = "",
                 cluster: str = "slurm") -> None:
        super().__init__(resources)
        self.partition, self.folder, self.cluster = partition, folder, cluster

    def describe(self) -> str:
        where = f"partition {self.partition}" if self.partition else "the default partition"
        return f"slurm ({where})" if self.cluster == "slurm" else f"submitit {self.cluster} executor"

    def parameters(self, name: str, count: int) -> dict[str, Any]:
        """submitit's AutoExecutor parameters for an array of ``count`` cells."""
        r = self.resources
        params: dict[str, Any] = {"name": name, "timeout_min": r.timeout_min, "cpus_per_task": self.threads,
                                  "slurm_array_parallelism": count}
        if r.gpus_per_node:
            params["gpus_per_node"] = r.gpus_per_node
        if r.mem_gb:
            params["mem_gb"] = r.mem_gb
        if self.partition:
            params["slurm_partition"] = self.partition
        return params

    def executor(self, folder: Path, name: str, count: int) -> Any:
        submitit = require("submitit", "slurm", "--executor slurm")
        try:
            ex = submitit.AutoExecutor(folder=folder, cluster=self.cluster)
        except RuntimeError as exc:  # submitit looks for srun: there is no Slurm on this machine
            raise ConfigError(f"--executor slurm: {exc} (run genzoo bench on a Slurm login node).") from None
        ex.update_parameters(**self.parameters(name, count))
        return ex

    def run(self, cells: list[Cell], task: Task, setup: Setup, collect: Collect, report: Report) -> None:
        submitit = require("submitit", "slurm", "--executor slurm")
        folder = Path(self.folder or "slurm") / "%j"
        ex = self.executor(folder, f"genzoo-bench-{len(cells)}-cells", len(cells))
        jobs = ex.map_array(run_in_worker, [task] * len(cells), [setup] * len(cells), [self.threads] * len(cells),
                            cells)
        by_id = {job.job_id: cell for job, cell in zip(jobs, cells)}
        try:
            for job in submitit.helpers.as_completed(jobs, poll_frequency=1 if self.cluster != "slurm" else 10):
                cell = by_id[job.job_id]
                state = job.state
                why = "" if state in ("DONE", "COMPLETED", "FINISHED") else (
                    f"job {job.job_id} ended {state}; its log: {job.paths.stderr}")
                report(cell, collect(cell, why=why))
        except KeyboardInterrupt:
            for job in jobs:
                if not job.done():
                    job.cancel(check=False)
            raise


def parse_executor(spec: str, resources: Resources | None = None, out: str | Path = "") -> Executor | None:
    """``local`` -> None (the runner's own pool), ``ray[:ADDRESS]``, ``slurm[:PARTITION]``."""
    kind, _, arg = spec.partition(":")
    if kind == "local" and not arg:
        return None
    if kind == "ray":
        return RayExecutor(arg, resources)
    if kind == "slurm":
        return SlurmExecutor(arg, resources, folder=Path(out) / "slurm" if out else "slurm")
    raise ConfigError(f"--executor {spec!r}: use local, ray, ray:ADDRESS, slurm or slurm:PARTITION.")
