"""The trainer's settings: how long, how big a batch, and the safety nets around each step.

Optimiser settings are not here: each model declares them per training phase, because a
GAN's two players and a VAE's one objective want different ones. A plugin registers a
default recipe per model (a dict of overrides of these fields), zoo.toml variants refine
it, and ``--set train.FIELD=VALUE`` has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import check, option


@dataclass(frozen=True)
class TrainConfig:
    steps: int = option(2000, "Optimisation steps (one step runs every phase once). Ignored if epochs > 0.")
    epochs: int = option(0, "Passes over the data; when > 0 it sets steps = epochs * batches per epoch.")
    max_minutes: float = option(0.0, "Wall-clock budget: end the run normally after this many minutes (0 = none).")
    batch_size: int = option(128, "Images per batch.")
    seed: int = option(0, "Seed for weights, noise, batch order and augmentation: same seed, same run.")
    grad_clip: float = option(0.0, "Clip each phase's gradient norm to this value (0 = off).")
    ema_decay: float = option(0.0, "Largest EMA decay of the model's EMA modules (e.g. the generator); 0 = off.")
    ema_start: int = option(0, "Step from which the EMA starts averaging (before it, it copies); its half-life "
                                "then ramps up as 2% of the steps since, until the decay reaches ema_decay.")
    precision: Literal["fp32", "bf16"] = option("fp32", "bf16: the forward passes under bfloat16 autocast, on CUDA "
                                                        "or the CPU (made for CPUs with AVX512-BF16 or AMX); "
                                                        "weights, optimiser and sampling stay fp32.")
    device: str = option("auto", "auto (cuda, then mps, then cpu), or a torch device string.")
    log_every: int = option(50, "Read losses back from the device and log them every N steps.")
    sample_every: int = option(500, "Write a sample grid every N steps (0 = only at the end).")
    checkpoint_every: int = option(1000, "Write a resumable checkpoint every N steps (0 = only at the end).")
    sample_grid: int = option(64, "Images in each sample grid (0 = no grids, e.g. for an autoregressive model on a "
                                  "CPU, where each grid costs one network pass per sub-pixel).")
    max_bad_steps: int = option(20, "Abort after this many consecutive steps with a non-finite loss.")
    keep_checkpoints: int = option(2, "Checkpoints kept in checkpoints/ (the newest is last.safetensors); resume "
                                      "falls back to the previous one when the newest is damaged.")
    diverge_factor: float = option(1e6, "Divergence: a logged loss term over this many times its running median "
                                        "(median floored at 1) counts as diverging (0 = off).")
    diverge_ceiling: float = option(1e12, "Divergence: a logged loss term whose magnitude exceeds this counts as "
                                          "diverging (0 = off).")
    diverge_patience: int = option(3, "Divergence: log intervals in a row with a diverging term that stop the run as "
                                      "diverged (the last interval of a run counts at once).")
    eval_every: int = option(0, "Evaluate the model every N steps with the run's evaluator (0 = off).")
    monitor: str = option(
        "", "Logged value watched for early stopping, e.g. 'g.loss' or an evaluation such as 'eval.fid'; empty = off."
    )
    monitor_mode: Literal["min", "max"] = option("min", "Whether the monitored value should fall or rise.")
    patience: int = option(0, "Stop after this many log intervals without improvement (0 = off).")
    min_delta: float = option(0.0, "Smallest change of the monitored value that counts as improvement.")

    def __post_init__(self) -> None:
        check(self.steps >= 1, "train.steps", self.steps, "at least 1")
        check(self.epochs >= 0, "train.epochs", self.epochs, "0 or more")
        check(self.max_minutes >= 0, "train.max_minutes", self.max_minutes, "0 (no limit) or more")
        check(self.batch_size >= 1, "train.batch_size", self.batch_size, "at least 1")
        check(self.grad_clip >= 0, "train.grad_clip", self.grad_clip, "0 (off) or a positive norm")
        check(0.0 <= self.ema_decay < 1.0, "train.ema_decay", self.ema_decay, "0 <= decay < 1")
        check(self.log_every >= 1, "train.log_every", self.log_every, "at least 1")
        check(self.sample_every >= 0, "train.sample_every", self.sample_every, "0 or more")
        check(self.checkpoint_every >= 0, "train.checkpoint_every", self.checkpoint_every, "0 or more")
        check(self.sample_grid >= 0, "train.sample_grid", self.sample_grid, "0 (no grids) or more")
        check(self.max_bad_steps >= 1, "train.max_bad_steps", self.max_bad_steps, "at least 1")
        check(self.keep_checkpoints >= 1, "train.keep_checkpoints", self.keep_checkpoints, "at least 1")
        check(self.diverge_factor == 0 or self.diverge_factor > 1, "train.diverge_factor", self.diverge_factor,
              "0 (off) or more than 1")
        check(self.diverge_ceiling >= 0, "train.diverge_ceiling", self.diverge_ceiling, "0 (off) or a positive value")
        check(self.diverge_patience >= 1, "train.diverge_patience", self.diverge_patience, "at least 1")
        check(self.eval_every >= 0, "train.eval_every", self.eval_every, "0 (off) or more")
        check(self.patience >= 0, "train.patience", self.patience, "0 or more")
