"""The shared trainer: one loop for every family, driven by the phases a model declares.

Per step it runs each Phase (with its repeats), and around that it owns devices and
precision, gradient clipping, a sync-free NaN/inf guard, EMA, logging, sample grids,
checkpoints, resume and early stopping. The per-step path never reads a value back to the
host: losses accumulate on the device and are read every ``log_every`` steps, and a step
with a non-finite loss is skipped inside the fused Adam kernel through its ``found_inf``
input (the mechanism torch's GradScaler uses), so whole steps stay capturable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import distributed
from .batch_random import step_randomness
from .checkpoint import load_latest_checkpoint, save_checkpoint
from .data.loader import BatchLoader, derive_seed
from .device import configure, pick_device
from .divergence import Diverged, DivergenceTest
from .ema import EMA
from .errors import GenzooError
from .images import save_grid
from .interrupt import StopSignals, TrainingStopped
from .metrics.protocol import Score
from .model import ZooModel
from .phases import Phase
from .pretrained import save_pretrained
from .progress import Progress
from .recipe import TrainConfig
from .rundir import RunDir


@dataclass
class TrainResult:
    model: ZooModel
    run_dir: Path | None
    step: int
    logs: dict[str, float] = field(default_factory=dict)
    stopped: str = ""
    """Why training ended before ``steps``: "early stop", "time budget", or ""."""
    scores: list[Score] = field(default_factory=list)
    """The final sampling weights' scores with their protocols (empty without an evaluator)."""

    @property
    def pretrained_dir(self) -> Path | None:
        return RunDir(self.run_dir).pretrained if self.run_dir else None


def _optimizer(phase: Phase, device: torch.device) -> torch.optim.Optimizer:
    o = phase.optim
    cls = torch.optim.AdamW if o.kind == "adamw" else torch.optim.Adam
    # fused kernels exist for CPU and CUDA; they also honour ``found_inf`` (the NaN guard).
    fused = device.type in ("cpu", "cuda")
    return cls(phase.parameters(), lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay, fused=fused)


def _scheduler(phase: Phase, opt: torch.optim.Optimizer, total: int) -> Any:
    if phase.optim.lr_decay != "linear":
        return None
    start = int(total * phase.optim.decay_start)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 1.0 if s < start else max(0.0, 1.0 - (s - start) / max(1, total - start))
    )


class Trainer:
    def __init__(
        self,
        model: ZooModel,
        loader: BatchLoader,
        config: TrainConfig,
        run_dir: str | Path | None = None,
        *,
        progress: bool | None = None,
        sample_labels: torch.Tensor | None = None,
        evaluate: Callable[[ZooModel], list[Score]] | None = None,
    ) -> None:
        self.model, self.loader, self.config = model, loader, config
        self.world = distributed.world()
        self.world.check_batch(config.batch_size)
        # Every rank reads the run dir (to resume); only rank 0 writes to it (``self.run`` is None elsewhere).
        self.shared_run = RunDir(run_dir) if run_dir is not None else None
        self.run = self.shared_run if self.world.main else None
        self.device = pick_device(config.device)
        configure(self.device)
        self.model.to(self.device)
        if self.world.distributed:
            distributed.sync_batchnorm(self.model, self.device)
        self.total = config.epochs * loader.batches_per_epoch if config.epochs > 0 else config.steps
        self.phases = model.phases()
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise GenzooError(f"{type(model).__name__}.phases() returned duplicate phase names {names}.")
        # a phase that shares another's optimiser (lazy regularisation) steps that one: see Phase.shares_optimizer
        self.optimizers = {p.name: _optimizer(p, self.device) for p in self.phases if not p.shares_optimizer}
        if bad_share := [p.name for p in self.phases if p.shares_optimizer not in ("", *self.optimizers)]:
            raise GenzooError(f"{type(model).__name__}.phases(): {bad_share} share the optimiser of an unknown phase.")
        for p in self.phases:  # a sharing phase may only update what the optimiser it steps holds
            held = {id(q) for q in self.optimizers[p.shares_optimizer or p.name].param_groups[0]["params"]}
            own = {id(q) for q in p.parameters()}
            if outside := [n for n, q in model.named_parameters() if id(q) in own and id(q) not in held]:
                raise GenzooError(f"{type(model).__name__}.phases(): phase {p.name!r} updates {outside[:3]}, which "
                                  f"the optimiser of phase {p.shares_optimizer!r} it shares does not hold.")
        # per phase, what computes its losses: the phase's own loss, or its DDP wrapper across ranks
        self._forward = {
            p.name: distributed.wrap_phase(p, self.device) if self.world.distributed else p.loss for p in self.phases
        }
        self.schedulers = {
            p.name: s for p in self.phases
            if p.name in self.optimizers and (s := _scheduler(p, self.optimizers[p.name], self.total)) is not None
        }
        trainable = [q for q in model.parameters() if q.requires_grad]
        self._frozen = {}  # per phase: the parameters it does not update, frozen while it runs
        for p in self.phases:
            own = {id(x) for x in p.parameters()}
            self._frozen[p.name] = [q for q in trainable if id(q) not in own]
        self.ema = (
            EMA(model, model.ema_modules, config.ema_decay, config.ema_start).to(self.device)
            if config.ema_decay > 0 and model.ema_modules else None
        )
        # the CPU too: one with AVX512-BF16 or AMX trains faster in bf16 (bench/cpu_bf16.py, bench/RESULTS.md)
        self.autocast = config.precision == "bf16" and self.device.type in ("cuda", "cpu")
        self.show_progress = progress if self.world.main else False
        self.sample_labels = sample_labels
        self.evaluate = evaluate if self.world.main else None  # rank 0 evaluates; the others wait
        self.scores: list[Score] = []  # the latest evaluation's, of the weights at step ``scores_step``
        self.scores_step = -1
        if config.eval_every and evaluate is None and self.world.main:
            raise GenzooError("train.eval_every is set but no evaluator was given (e.g. --eval-metrics fid).")
        self.step = 0
        self.batch_index = 0
        self.best = math.inf if config.monitor_mode == "min" else -math.inf
        self.stale = 0
        self.bad_in_a_row = 0
        self.seconds = 0.0  # wall time of the run's earlier sessions (from the checkpoint on resume)
        self._started = time.perf_counter()
        self._sums: dict[str, torch.Tensor] = {}
        self._bad = torch.zeros((), device=self.device)
        self._divergence = DivergenceTest(config.diverge_factor, config.diverge_ceiling, config.diverge_patience)
        self._diverged = ""  # the divergence test's verdict at the latest log interval
        self._signals = StopSignals()
        self.saved_step = -1  # the step of the newest checkpoint on disk (-1: none yet)
        self._local_randomness()

    def _local_randomness(self) -> None:
        """Each rank its own stream for what a family draws outside genzoo.core.batch_random (dropout,
        per-layer noise), so that ranks never repeat each other's draws; one process keeps torch's."""
        if self.world.distributed:
            torch.manual_seed(derive_seed(self.config.seed, 100 + self.world.rank, self.step))

    # -- one step -------------------------------------------------------------------------
    def _run_phase(self, phase: Phase, first_batch: Any) -> None:
        opt = self.optimizers[phase.shares_optimizer or phase.name]
        frozen = self._frozen[phase.name]
        for q in frozen:
            q.requires_grad_(False)
        try:
            for r in range(phase.repeats):
                batch = first_batch if r == 0 else self._next_batch()
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                    losses = self._forward[phase.name](batch)
                loss = losses["loss"]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                bad = ~torch.isfinite(loss.detach())
                if self.config.grad_clip > 0:
                    norm = torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], self.config.grad_clip)
                    bad = bad | ~torch.isfinite(norm)
                bad = bad.float()
                distributed.all_reduce_max_(bad)  # a step skipped on one rank is skipped on all
                opt.found_inf = bad
                opt.step()
                self._bad += bad
                for k, v in losses.items():
                    key = f"{phase.name}.{k}"
                    val = v.detach().float()
                    self._sums[key] = self._sums[key] + val if key in self._sums else val
        finally:
            for q in frozen:
                q.requires_grad_(True)
        if phase.name in self.schedulers:
            self.schedulers[phase.name].step()

    def _next_batch(self) -> Any:
        batch = self.world.shard(self.loader.batch(self.batch_index))
        self.batch_index += 1
        return batch

    def train_step(self) -> None:
        self.model.train()
        with step_randomness(self.config.seed, self.step, self.device):
            batch = self._next_batch()
            for phase in self.phases:
                if self.step % phase.every == 0:  # lazy phases (every > 1) skip the other steps
                    self._run_phase(phase, batch)
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.step)

    # -- around the steps -----------------------------------------------------------------
    def _read_logs(self, steps: int, seconds: float) -> dict[str, float]:
        """The one host sync per log interval: means of every logged term, and the NaN count."""
        keys = list(self._sums)
        # each rank's means over its share: their mean is the global batch's (equal shares); the skipped-update
        # count is already the same on every rank (agreed per update), so its mean is itself
        *values, bad = distributed.all_reduce_mean(torch.stack([*(self._sums[k] for k in keys), self._bad])).tolist()
        self._sums.clear()
        self._bad.zero_()
        # how often each phase ran over the steps [self.step - steps, self.step): those divisible by its ``every``
        counts = {p.name: p.repeats * (-(-self.step // p.every) + (self.step - steps) // -p.every) for p in self.phases}
        logs = {k: v / counts[k.split(".", 1)[0]] for k, v in zip(keys, values)}
        logs["images_per_s"] = steps * self.config.batch_size / max(seconds, 1e-9)
        logs["skipped_steps"] = float(bad)
        return logs

    def _write_log(self, logs: dict[str, float]) -> None:
        if self.run is not None:
            self.run.append_log({"step": self.step, "time": time.time(), **logs})

    def _early_stop(self, logs: dict[str, float]) -> bool:
        c = self.config
        if not c.monitor or c.patience == 0:
            return False
        if c.monitor not in logs:
            raise GenzooError(f"train.monitor={c.monitor!r} is not a logged value; logged: {', '.join(sorted(logs))}.")
        value = logs[c.monitor]
        better = value < self.best - c.min_delta if c.monitor_mode == "min" else value > self.best + c.min_delta
        if better:
            self.best, self.stale = value, 0
        else:
            self.stale += 1
        return self.stale >= c.patience

    @contextmanager
    def _sampling_weights(self) -> Iterator[None]:
        """Eval mode, no grad, and the EMA weights swapped in where kept: what users sample with.

        Eval mode is set after the swap, so that the averaged modules use their batch-norm running
        statistics, as the saved model does when loaded; grids and scores then match its samples.
        """
        with torch.no_grad(), self.ema.swapped_in(self.model) if self.ema is not None else nullcontext():
            self.model.eval()
            try:
                yield
            finally:
                self.model.train()

    def samples(self, n: int) -> torch.Tensor:
        """A grid's worth of samples from fixed noise (seeded apart from the training RNG)."""
        gen = torch.Generator(self.device).manual_seed(self.config.seed + 12345)
        labels = self.sample_labels[:n].to(self.device) if self.sample_labels is not None else None
        with self._sampling_weights():
            return self.model.sample(n, labels=labels, generator=gen)

    def _evaluate(self) -> dict[str, float]:
        """Scores of the sampling weights (EMA where kept), logged as ``eval.<metric>`` and kept with
        their step, so that the end of training reuses an evaluation made at its last step."""
        with self._sampling_weights():
            self.scores = list(self.evaluate(self.model))
        self.scores_step = self.step
        logs = {f"eval.{s.name}": float(s.value) for s in self.scores}
        self._write_log(logs)
        return logs

    def _save_grid(self) -> torch.Tensor | None:
        """Write this step's grid to samples/ and return it; None where there is none to write."""
        if self.run is None or "sample" not in self.model.capabilities or not self.config.sample_grid:
            return None
        grid = self.samples(self.config.sample_grid)
        save_grid(grid, self.run.grid(self.step))
        return grid

    def wall_time(self) -> float:
        """Seconds this run has trained so far, over every session (a resumed run counts the earlier ones)."""
        return self.seconds + time.perf_counter() - self._started

    def save_checkpoint(self) -> None:
        if self.run is None:
            return
        save_checkpoint(
            self.run.checkpoint,
            model=self.model,
            ema=self.ema.state_dict() if self.ema else None,
            optimizers=self.optimizers,
            schedulers=self.schedulers,
            counters={"step": self.step, "batch_index": self.batch_index, "best": self.best, "stale": self.stale,
                      "bad_in_a_row": self.bad_in_a_row, "seconds": self.wall_time()},
            keep=self.config.keep_checkpoints,
        )
        self.saved_step = self.step

    def resume(self) -> None:
        if self.shared_run is None:
            raise GenzooError("cannot resume: the trainer has no run dir.")
        # the newest checkpoint that verifies; a damaged one is named in a warning and the previous one used
        counters, _ = load_latest_checkpoint(
            self.shared_run.checkpoint, model=self.model, ema=self.ema,
            optimizers=self.optimizers, schedulers=self.schedulers,
        )
        self.step, self.batch_index = counters["step"], counters["batch_index"]
        self.best, self.stale, self.bad_in_a_row = counters["best"], counters["stale"], counters["bad_in_a_row"]
        self.seconds, self._started = float(counters.get("seconds", 0.0)), time.perf_counter()  # older: none kept
        self.saved_step = self.step
        if self.world.main:
            self.shared_run.drop_logs_after(self.step)
        if self.ema is not None:
            self.ema.to(self.device)
        self._local_randomness()

    def finish(self, stopped: str = "") -> dict[str, float]:
        """The end of a run, in the order that keeps it resumable and writes each file once: the final
        checkpoint; the final weights' evaluation (unless the last one was of this step); then the grid and
        the pretrained folder (EMA weights as the "ema" variant), whose config.json and card carry those
        scores and how the weights were made. Returns the evaluation's logs ({} when none ran)."""
        self.save_checkpoint()
        logs: dict[str, float] = {}
        if self.evaluate is not None and self.scores_step != self.step:
            # after the checkpoint: an interrupted final evaluation is redone by --resume
            logs = self._evaluate()
        if self.run is None:
            return logs
        grid = self._save_grid()  # the same fixed-noise samples go into the pretrained folder
        self.model.meta.provenance = {
            **{k: v for k, v in self.model.meta.provenance.items() if k != "stopped"},
            "steps": self.step,  # the steps actually trained, wherever the run stopped
            **({"stopped": stopped} if stopped else {}),
            "batch_size": self.config.batch_size,
            "seed": self.config.seed,
            "wall_time_s": round(self.wall_time(), 1),
        }
        save_pretrained(self.model, self.run.pretrained, ema=self.ema.state_dict() if self.ema else None,
                        samples=grid, scores=self.scores)
        return logs

    def _check_divergence(self, logs: dict[str, float]) -> None:
        """Feed one log interval's losses (already on the host: no extra sync) to the divergence test."""
        phases = {p.name for p in self.phases}
        losses = {k: v for k, v in logs.items() if k.split(".", 1)[0] in phases}
        self._diverged = self._divergence.check(losses, self.step, final=self.step == self.total)

    _STOPS = ("", "time budget", "diverged")  # codes 0, 1, 2; a signal is 100 + its number, so it wins

    def _stop_reason(self, deadline: float) -> str:
        """Why to stop after this step: "signal N", "diverged", "time budget", or "" to go on.

        Asked once at the end of every step. Each rank encodes its own reason and ``world.agree`` (an
        all_reduce MAX under torchrun) makes it everyone's, so that every rank stops on the same step
        and takes part in the same checkpoint: a signal beats divergence, which beats the time budget,
        whose clock is rank 0's. Not distributed, ``agree`` is the identity and costs nothing.
        """
        code = (100 + self._signals.received if self._signals.received else 2 if self._diverged
                else int(self.world.main and time.monotonic() >= deadline))
        code = self.world.agree(code)
        return f"signal {code - 100}" if code >= 100 else self._STOPS[code]

    def fit(self) -> TrainResult:
        c = self.config
        if self.run is not None:
            self.run.samples.mkdir(parents=True, exist_ok=True)
        progress = Progress(self.total, self.step, self.model.meta.name or "train", self.show_progress)
        logs: dict[str, float] = {}
        stopped = ""
        t0, since = time.perf_counter(), self.step
        deadline = time.monotonic() + c.max_minutes * 60 if c.max_minutes else math.inf
        self._signals.install()  # SIGINT, SIGTERM, SIGUSR1: finish the step, checkpoint, stop (core.interrupt)
        try:
            while self.step < self.total:
                self.train_step()
                if self.step % c.log_every == 0 or self.step == self.total:
                    logs = self._read_logs(self.step - since, time.perf_counter() - t0)
                    t0, since = time.perf_counter(), self.step
                    self._write_log(logs)
                    self._check_divergence(logs)
                    skipped = int(logs["skipped_steps"])
                    self.bad_in_a_row = self.bad_in_a_row + skipped if skipped else 0
                    info = "  ".join(f"{k} {v:.3g}" for k, v in logs.items() if k.endswith(".loss"))
                    progress.update(self.step, f"{info}  {logs['images_per_s']:.0f} img/s")
                    if self.bad_in_a_row >= c.max_bad_steps:
                        stopped = "non-finite losses"
                        break
                    if not c.monitor.startswith("eval.") and self._early_stop(logs):
                        stopped = "early stop"
                        break
                if c.eval_every and self.step % c.eval_every == 0:
                    evals = self._evaluate() if self.evaluate is not None else {}
                    logs.update(evals)
                    # rank 0 evaluated; its verdict is everyone's
                    if self.world.agree(int(c.monitor.startswith("eval.") and self.world.main
                                            and self._early_stop(evals))):
                        stopped = "early stop"
                        break
                if c.sample_every and self.step % c.sample_every == 0 and self.step < self.total:
                    self._save_grid()
                if c.checkpoint_every and self.step % c.checkpoint_every == 0 and self.step < self.total:
                    self.save_checkpoint()
                if stopped := self._stop_reason(deadline):
                    if self.step != since:  # the steps since the last log interval are logged too
                        logs = self._read_logs(self.step - since, time.perf_counter() - t0)
                        self._write_log(logs)
                    if stopped.startswith("signal"):
                        self.save_checkpoint()  # with the handlers still on: a second signal stops at once
                    break
        except KeyboardInterrupt as exc:
            if isinstance(exc, TrainingStopped):  # a second signal: stop at once, the last checkpoint stands
                exc.step, exc.run_dir = self.saved_step, str(self.shared_run.path) if self.shared_run else ""
            else:  # Ctrl-C where no handler could be installed (not the main thread)
                self.save_checkpoint()  # nothing is lost: `--resume` continues from here
            raise
        finally:
            self._signals.restore()
            progress.close()
        if stopped.startswith("signal"):
            stop = self._signals.stopped(int(stopped.split()[1]))
            stop.step, stop.run_dir = self.step, str(self.shared_run.path) if self.shared_run else ""
            raise stop
        if stopped == "diverged":
            kept = (f"the last checkpoint (step {self.saved_step}) is kept" if self.saved_step >= 0
                    else "no checkpoint was written")
            raise Diverged(f"{self._diverged or f'training diverged at step {self.step} on another rank'}; {kept} "
                           f"and the weights were not saved as a model. Lower the learning rate or set "
                           f"train.grad_clip (the test: train.diverge_factor, diverge_ceiling, diverge_patience).",
                           self.step)
        if stopped == "non-finite losses":
            self.save_checkpoint()
            raise GenzooError(
                f"training stopped at step {self.step}: {self.bad_in_a_row} updates in a row had non-finite losses "
                f"(they were skipped; the weights in the checkpoint are intact). Lower the learning rate or set "
                f"train.grad_clip, then --resume."
            )
        logs.update(self.finish(stopped))
        return TrainResult(self.model, self.run.path if self.run is not None else None, self.step, logs, stopped,
                           self.scores)
