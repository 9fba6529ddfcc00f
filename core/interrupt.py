"""Stopping a training run on SIGINT, SIGTERM or SIGUSR1 without losing a completed step.

Clusters preempt with a signal and a grace period (Slurm: SIGTERM, or the SIGUSR1 a job asks
for with ``#SBATCH --signal=USR1@120``; Kubernetes and most schedulers: SIGTERM), and a user
presses Ctrl-C. While the trainer runs, the first such signal only sets a flag: the trainer
finishes the step it is in, writes a checkpoint and its log, and raises TrainingStopped, so
``genzoo train --resume RUN`` continues from the last completed step. A second signal stops the
process at once (a TrainingStopped raised wherever it is); the checkpoint on disk is then the
previous complete one, because every checkpoint is written beside its name and renamed into place.

Exit statuses follow the shell's 128 + signal number: 130 for SIGINT, 143 for SIGTERM and 138
for SIGUSR1, the preemption warning: "checkpointed, run me again". With requeue asked for
(``genzoo train --requeue`` or GENZOO_REQUEUE=1) inside a Slurm job, the job then requeues itself
with ``scontrol requeue``; a handler that was installed before genzoo's (submitit's, for one) is
called after the checkpoint, so a framework's own preemption protocol still runs.

TrainingStopped is a KeyboardInterrupt: code that stops on Ctrl-C (the benchmark runner, a
user's ``except KeyboardInterrupt``) stops on these signals too, and never mistakes them for a
failed run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from types import FrameType
from typing import Any

from .errors import GenzooError

FORWARDED_WITHIN = 2.0
"""Seconds within which a repeat of the same signal under torchrun is the launcher forwarding it: Ctrl-C
reaches every worker from the terminal and again from torchrun, and that is one request, not two."""

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name))


def stop_signals() -> tuple[int, ...]:
    """STOP_SIGNALS, plus submitit's preemption signal inside a submitit job (SUBMITIT_EXECUTOR is set):
    SIGUSR2 unless SUBMITIT_PREEMPT_SIGNAL names another. Its handler, submitit's, runs after the
    checkpoint and requeues the job by submitit's own protocol."""
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return STOP_SIGNALS
    preempt = getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2").upper().removeprefix("SIG"),
                      None)
    return STOP_SIGNALS + ((preempt,) if preempt is not None and preempt not in STOP_SIGNALS else ())
REQUEUE_ENV = "GENZOO_REQUEUE"


def exit_status(signum: int) -> int:
    """The status a process stopped by ``signum`` exits with: 128 + the signal number, as shells report it."""
    return 128 + int(signum)


class TrainingStopped(KeyboardInterrupt):
    """A run stopped by a signal. ``forced``: a second signal that did not wait for the step to end."""

    def __init__(self, signum: int, *, forced: bool = False) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum, self.forced = signum, forced
        self.step = -1  # the step of the checkpoint that resume continues from, set by the trainer
        self.run_dir = ""
        self.previous: Any = None  # the handler genzoo's replaced, called after the checkpoint where it is one
        self.notes: list[str] = []  # what happened after the checkpoint (a requeue)

    def __reduce__(self) -> tuple:  # across processes (a benchmark's workers): the replaced handler stays behind
        return type(self), (self.signum,), {**self.__dict__, "previous": None}

    @property
    def exit_code(self) -> int:
        return exit_status(self.signum)

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        if self.forced:
            kept = (f"the last checkpoint (step {self.step}) is intact" if self.step >= 0
                    else "no checkpoint had been written in this session (an earlier one, if any, is intact)")
            head = f"stopped at once by a second signal ({name}); {kept}"
        else:
            head = f"stopped by {name} after step {self.step}; a checkpoint of that step was written"
        how = f": `genzoo train --resume {self.run_dir}` continues it" if self.run_dir else ""
        return head + how + "".join(f"; {n}" for n in self.notes) + "."


class StopSignals:
    """The trainer's signal handlers: ``install`` before the loop, ``restore`` after it.

    Handlers can only be installed from the main thread; elsewhere (a training thread) nothing is
    installed and the signals keep their previous meaning, as does a signal the process ignores.
    """

    def __init__(self) -> None:
        self.received = 0  # the first stop signal's number, 0 while none came
        self._received_at = 0.0
        self._previous: dict[int, Any] = {}

    def install(self) -> StopSignals:
        self.received, self._previous = 0, {}
        try:
            for signum in stop_signals():
                if signal.getsignal(signum) != signal.SIG_IGN:  # ignored on purpose (nohup, a background job)
                    self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread: leave every signal as it was
            self.restore()
            self._previous = {}
        return self

    def restore(self) -> None:
        """Put the replaced handlers back (they stay known to ``stopped``)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            forwarded = (signum == self.received and "TORCHELASTIC_RUN_ID" in os.environ
                         and time.monotonic() - self._received_at < FORWARDED_WITHIN)
            if forwarded:
                return
            raise TrainingStopped(signum, forced=True)
        self.received, self._received_at = signum, time.monotonic()
        # os.write, not print: a handler may run in the middle of another write to stderr
        os.write(2, f"\n{signal.Signals(signum).name}: finishing this step, then writing a checkpoint "
                    f"(send it again to stop at once)\n".encode())

    def stopped(self, signum: int) -> TrainingStopped:
        """The exception for ``signum`` (this process's, or another rank's), carrying the handler it replaced."""
        stop = TrainingStopped(signum)
        previous = self._previous.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            stop.previous = previous
        return stop


def requeue_wanted(flag: bool | None = None) -> bool:
    """``flag`` when given (--requeue), else GENZOO_REQUEUE (for sbatch scripts and launchers)."""
    if flag is not None:
        return flag
    return os.environ.get(REQUEUE_ENV, "").lower() in ("1", "true", "yes", "on")


def slurm_job_id() -> str:
    """The id ``scontrol requeue`` takes for this job: ARRAYJOB_TASK for an array task, else SLURM_JOB_ID."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")


def after_checkpoint(stop: TrainingStopped, requeue: bool) -> None:
    """What a stop does once its checkpoint is on disk: requeue the Slurm job on SIGUSR1 when asked,
    then call the handler genzoo's replaced (e.g. submitit's, which requeues by its own protocol)."""
    if stop.forced:
        return
    if requeue and getattr(signal, "SIGUSR1", None) == stop.signum:
        job = slurm_job_id()
        if not job:
            stop.notes.append("requeue was asked for, but this is not a Slurm job (no SLURM_JOB_ID)")
        else:
            stop.notes.append(_requeue(job))
    if stop.previous is not None:
        stop.previous(stop.signum, None)


def _requeue(job: str) -> str:
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        raise GenzooError(f"cannot requeue Slurm job {job}: no `scontrol` on PATH (the checkpoint is written; "
                          f"requeue it yourself with `scontrol requeue {job}`).")
    done = subprocess.run([scontrol, "requeue", job], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise GenzooError(f"`scontrol requeue {job}` failed ({(done.stderr or done.stdout).strip()}); the "
                          f"checkpoint is written, so the run can be resubmitted with --resume.")
    return f"Slurm job {job} was requeued (scontrol requeue {job})"
