"""``genzoo train``: train a registered model on a data source, or resume a run."""

from __future__ import annotations

import os
import signal
import sys
import tempfile

import click

from genzoo.core.config import parse_assignments
from genzoo.core.errors import GenzooError
from genzoo.core.interrupt import REQUEUE_ENV, TrainingStopped
from genzoo.core.rundir import RunDir

from ..models.overrides import split_overrides
from ..zoo import get_zoo


@click.command()
@click.argument("name", required=False)
@click.option("--data", "data", default=None, help="mnist, fashion-mnist, cifar10, digits, a folder, or unpaired:A,B.")
@click.option("--data-root", default=None, help="Where named datasets live ($GENZOO_DATA, ~/.cache/genzoo/data).")
@click.option("--steps", type=int, default=None, help="Optimisation steps.")
@click.option("--epochs", type=int, default=None, help="Passes over the data (overrides --steps).")
@click.option("--out", default=None, help="Run directory (default runs/NAME).")
@click.option("--resume", default=None, help="Continue the run in this directory.")
@click.option("--set", "assignments", multiple=True, help="Override a field: key=value, train.key=value, ...")
@click.option("--seed", type=int, default=None,
              help="Seed for weights, noise, batch order and augmentation (the same as --set train.seed=N).")
@click.option("--requeue/--no-requeue", default=None,
              help=f"In a Slurm job, requeue it (scontrol requeue) after the checkpoint a SIGUSR1 stop writes "
                   f"(default: ${REQUEUE_ENV}). SIGINT, SIGTERM and SIGUSR1 finish the step, checkpoint and exit "
                   f"130, 143 and 138.")
@click.option("--eval-every", type=int, default=None,
              help="Score the model every N steps (logged as eval.<metric>) and at the end; the final scores go "
                   "into pretrained/config.json and the model card with their protocol (as `eval --card`).")
@click.option("--eval-metrics", default="fid", show_default=True, help="Metrics for --eval-every, e.g. fid,kid.")
@click.option("--eval-n", type=int, default=2000, show_default=True,
              help="Samples per evaluation (the protocol's n_fake and n_real; real: the data's test split).")
@click.option("--eval-features", default=None, help="Feature extractor (default: the data's zoo evaluator).")
@click.option("--nproc", type=int, default=None,
              help="Train on N processes of this machine: runs `torchrun --standalone --nproc-per-node N -m genzoo "
                   "train ...` for you (--set train.batch_size is the global batch). For several machines, run "
                   "torchrun yourself with its rendezvous flags.")
def train(name: str | None, data: str | None, data_root: str | None, steps: int | None, epochs: int | None,
          out: str | None, resume: str | None, assignments: tuple[str, ...], eval_every: int | None,
          eval_metrics: str, eval_n: int, eval_features: str | None, nproc: int | None, seed: int | None,
          requeue: bool | None) -> None:
    """Train NAME on --data (or continue --resume RUN_DIR)."""
    if not name and not resume:
        raise GenzooError("give a model NAME (see `genzoo list`) or --resume RUN_DIR.")
    if nproc is not None:
        _launch(nproc)
    overrides = {"model": {}, "train": {}, "preprocessing": {}}
    if assignments:  # routed by the model they apply to, a resumed run's own; training.train says what may change
        model = RunDir(resume).read()["model"] if resume else name
        overrides = split_overrides(get_zoo().model(model), parse_assignments(assignments))
    if eval_every is not None:
        overrides["train"]["eval_every"] = eval_every
    if seed is not None:
        if overrides["train"].get("seed", seed) != seed:
            raise GenzooError(f"--seed {seed} and --set train.seed={overrides['train']['seed']} disagree; give one.")
        overrides["train"]["seed"] = seed
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..training.train import train as run_training

    rank0 = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 reports for every rank

    try:
        result = run_training(name, data, steps=steps, epochs=epochs, out=out, resume=resume,
                              config=overrides["model"], train=overrides["train"],
                              preprocessing=overrides["preprocessing"], data_root=data_root, eval_metrics=eval_metrics,
                              eval_n=eval_n, eval_features=eval_features, requeue=requeue)
    except TrainingStopped as stop:  # a signal: the checkpoint is written; exit 128 + its number, as shells expect
        if rank0:
            click.echo(str(stop), err=True)
        sys.exit(stop.exit_code)
    if not rank0:
        return
    losses = "  ".join(f"{k}={v:.4g}" for k, v in result.logs.items() if k.endswith("loss"))
    click.echo(f"trained {result.step} steps{f' ({result.stopped})' if result.stopped else ''}: {losses}")
    if result.scores:
        n = result.scores[0].protocol.n_fake
        scores = "  ".join(f"{s.name}={s.value:.4g}" for s in result.scores)
        click.echo(f"final scores (n={n}, recorded in the model card): {scores}")
    click.echo(f"run: {result.run_dir}   weights: {result.pretrained_dir}")


def _launch(nproc: int) -> None:
    """Run this same command minus --nproc under torch.distributed.run (torchrun) on this machine, then exit.

    The launcher forwards signals to the workers and, when one worker fails, stops the others; the
    failing rank's own error is printed by that rank, and this says which rank it was."""
    if nproc < 1:
        raise GenzooError(f"--nproc must be at least 1 (got {nproc}).")
    if os.environ.get("WORLD_SIZE"):
        raise GenzooError("--nproc launches torchrun itself; inside a torchrun job, drop --nproc.")
    args, rest = [], iter(sys.argv[1:])
    for arg in rest:
        if arg == "--nproc":
            next(rest, None)
        elif not arg.startswith("--nproc="):
            args.append(arg)
    # Deferred: it imports torch, and `genzoo --help` must not.
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    # torchrun's own default is a fresh /tmp/torchelastic_* folder per launch, which it never removes
    with tempfile.TemporaryDirectory(prefix="genzoo-torchrun-") as logs:
        try:
            torchrun(["--standalone", f"--nproc-per-node={nproc}", f"--log-dir={logs}", "-m", "genzoo", *args])
        except ChildFailedError as exc:
            rank, failure = exc.get_first_failure()
            how = (f"was killed by {failure.signal_name()}" if failure.exitcode < 0
                   else f"exited with status {failure.exitcode} (its error is above)")
            raise GenzooError(f"rank {rank} of {nproc} (pid {failure.pid}) {how}; torchrun stopped the other ranks "
                              f"(a run that had started continues from its last checkpoint with --resume RUN_DIR)."
                              ) from None
        except SignalException as exc:  # torchrun passed the signal on to every rank, which checkpointed and stopped
            click.echo(f"torchrun: stopped by {signal.Signals(exc.sigval).name}; each rank finished its step and rank "
                       f"0 wrote a checkpoint: --resume RUN_DIR continues it.", err=True)
            sys.exit(128 + int(exc.sigval))
    sys.exit(0)
