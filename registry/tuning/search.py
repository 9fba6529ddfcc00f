"""``genzoo tune``: an Optuna study whose trials are genzoo training runs, scored by the evaluation protocol.

Optuna owns the study: the sampler proposes, the pruner stops, and the storage (SQLite by default,
any SQLAlchemy URL Optuna takes, PostgreSQL for many machines) records every trial and hands each
one to exactly one process. genzoo owns the trial: the proposed values go into the same typed
fields ``--set`` reaches, the model trains through ``genzoo.train`` in its own run dir
(OUT/trial-NNNN, kept), every ``--eval-every`` steps its score goes to ``trial.report`` (the
trainer's evaluator is the hook), and the final weights' score, stamped with its protocol, is the
trial's value. The best trial's pretrained folder is the study's result.

Running the same command again, here or on another machine, continues the study. ``--trials N``
counts finished trials (complete or pruned): each process runs trials until the study holds N,
waiting at the end for trials other processes are still running. A process that dies (SIGKILL,
a lost node) stops beating its trial's heartbeat; once the grace period (two heartbeats) passes,
the next process to look marks that trial failed and re-enqueues its parameters
(Optuna's RetryHeartbeatStaleTrialCallback), so the study still ends with N.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo.core.config import parse_assignments
from genzoo.core.errors import ConfigError, GenzooError, did_you_mean

from ..evaluation.applicability import inapplicable, score_names
from ..evaluation.during_training import training_evaluator
from ..models.overrides import split_overrides
from ..training.train import train
from ..zoo import ModelEntry, get_zoo
from .space import Space, load_space
from .storage import SETTINGS_ATTR, open_storage, optuna_module, quiet, shown, storage_url

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")
DEFAULT_TRIALS = 20
FAILURES_IN_A_ROW = 3  # trials failing one after another in this process: the command, not the values, is wrong


@dataclass(frozen=True)
class TuneOptions:
    """What ``genzoo tune`` was asked, as given (validated by ``plan``)."""

    model: str
    data: str | None = None
    space: tuple[str, ...] = ()
    sampler: str = "tpe"
    trials: int | None = None
    metric: str = "fid"
    direction: str | None = None
    storage: str | None = None
    study: str | None = None
    pruner: str = "median"
    eval_every: int = 0
    eval_n: int = 2000
    eval_features: str | None = None
    steps: int | None = None
    assignments: tuple[str, ...] = ()
    seed: int | None = None  # None: --set train.seed=N, else 0
    out: str | None = None
    data_root: str | None = None
    heartbeat: int = 60


@dataclass(frozen=True)
class Plan:
    """A validated study: everything is checked before the first trial trains."""

    options: TuneOptions
    entry: ModelEntry
    data: str
    space: Space
    base: dict[str, dict[str, Any]]
    metric: str
    score: str
    direction: str
    trials: int
    storage: str
    study: str
    out: Path
    pruner_startup: int = 5
    settings: dict[str, Any] = field(default_factory=dict)


def plan(o: TuneOptions) -> Plan:
    """Check the model, space, metric, sampler, pruner and budget; nothing is trained or stored yet."""
    zoo = get_zoo()
    entry = zoo.model(o.model)
    base = split_overrides(entry, parse_assignments(o.assignments)) if o.assignments else \
        {"model": {}, "train": {}, "preprocessing": {}}
    # --seed and --eval-every are the trials' train.seed and train.eval_every: a --set of either is never overruled
    if "eval_every" in base["train"]:
        raise ConfigError("--set train.eval_every: give --eval-every N instead (it also feeds the pruner).")
    fixed = entry.make_recipe(base["train"]).seed if "seed" in base["train"] else None
    if o.seed is not None and fixed is not None and fixed != o.seed:
        raise ConfigError(f"--seed {o.seed} and --set train.seed={fixed} disagree; give one.")
    o = dataclasses.replace(o, seed=o.seed if o.seed is not None else fixed if fixed is not None else 0)
    base["train"].update({"seed": o.seed, "eval_every": o.eval_every, **({"steps": o.steps} if o.steps else {})})
    entry.make_config(base["model"])
    recipe = entry.make_recipe(base["train"])
    entry.make_preprocessing(base["preprocessing"])
    space = load_space(entry, o.space, base)
    metric, _, score = o.metric.strip().lower().partition(":")
    if metric not in zoo.metrics:
        raise ConfigError(f"--metric {o.metric}: unknown metric.{did_you_mean(metric, zoo.metrics)} "
                          f"Known: {', '.join(sorted(zoo.metrics))} (a metric with several scores: METRIC:SCORE, "
                          "e.g. pr:recall).")
    if metric in ("psnr", "ssim"):
        raise ConfigError(f"--metric {metric}: tuning scores sample metrics and bpd; {metric} needs reconstructions.")
    if why := inapplicable([metric], entry.capabilities).get(metric):
        raise ConfigError(f"--metric {metric}: {entry.name} {why}; choose a metric it can be scored on.")
    scores = score_names(metric)
    if (score or scores[0]) not in scores or (not score and len(scores) > 1):
        raise ConfigError(f"--metric {o.metric}: {metric} gives {', '.join(scores)}; name the one to "
                          f"{'maximize' if zoo.metrics[metric].higher_is_better else 'minimize'}, e.g. "
                          f"--metric {metric}:{scores[-1]}.")
    direction = o.direction or ("maximize" if zoo.metrics[metric].higher_is_better else "minimize")
    if direction not in DIRECTIONS:
        raise ConfigError(f"--direction {direction!r}: use minimize or maximize.")
    if o.sampler not in SAMPLERS:
        raise ConfigError(f"--sampler {o.sampler!r}: use one of {', '.join(SAMPLERS)}.")
    if o.eval_n < 2:
        raise ConfigError(f"--eval-n must be at least 2 (got {o.eval_n}).")
    pruner, _, startup = o.pruner.partition(":")
    if pruner not in PRUNERS or (startup and (not startup.isdigit() or pruner != "median")):
        raise ConfigError(f"--pruner {o.pruner!r}: use median (or median:N, N trials finished before any is "
                          "pruned; default 5), hyperband or none.")
    if o.eval_every < 0 or (o.eval_every and o.eval_every > recipe.steps and not recipe.epochs):
        raise ConfigError(f"--eval-every {o.eval_every} must be between 1 and the trial's steps ({recipe.steps}) to "
                          "give the pruner intermediate scores (0: only the final score).")
    if o.heartbeat < 1:
        raise ConfigError(f"--heartbeat must be at least 1 second (got {o.heartbeat}).")
    if o.sampler == "grid":
        size = 1
        for values in space.grid().values():
            size *= len(values)
        trials = size if o.trials is None else min(o.trials, size)
    else:
        trials = DEFAULT_TRIALS if o.trials is None else o.trials
    if trials < 1:
        raise ConfigError(f"--trials must be at least 1 (got {trials}).")
    name = o.study or entry.name
    out = Path(o.out or Path("tune-results") / name).expanduser()
    storage = storage_url(o.storage or f"sqlite:///{(out / 'study.db').resolve()}")
    data = o.data or entry.data
    settings = {"model": entry.name, "data": data, "metric": metric, "score": score or metric, "direction": direction,
                "space": space.to_dict(), "set": {k: v for k, v in base.items() if v},
                "eval": {"n": o.eval_n, "features": o.eval_features}}
    return Plan(o, entry, data, space, base, metric, score or metric, direction, trials, storage, name, out,
                int(startup or 5), settings)


# -- the study ---------------------------------------------------------------------------------


def _sampler(optuna: Any, p: Plan, seed: int | None) -> Any:
    kind = p.options.sampler
    if kind == "grid":  # the grid's order must be the same in every process: always the run's seed
        return optuna.samplers.GridSampler(p.space.grid(), seed=p.options.seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(optuna: Any, p: Plan) -> Any:
    kind = p.options.pruner.partition(":")[0]
    if kind == "none" or not p.options.eval_every:
        return optuna.pruners.NopPruner()
    if kind == "hyperband":
        steps = p.entry.make_recipe(p.base["train"]).steps
        return optuna.pruners.HyperbandPruner(min_resource=p.options.eval_every, max_resource=steps)
    return optuna.pruners.MedianPruner(n_startup_trials=p.pruner_startup)


def open_study(p: Plan, storage: Any) -> Any:
    """Create the study, or join it: the first process seeds its sampler with --seed (a rerun alone draws
    the same trials); a process joining a running study draws its own, as Optuna advises for workers."""
    optuna = optuna_module()
    try:
        study = optuna.create_study(storage=storage, study_name=p.study, direction=p.direction,
                                    sampler=_sampler(optuna, p, p.options.seed), pruner=_pruner(optuna, p))
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=p.study, storage=storage, sampler=_sampler(optuna, p, None),
                                  pruner=_pruner(optuna, p))
    if study.direction.name.lower() != p.direction:
        raise GenzooError(f"study {p.study!r} {study.direction.name.lower()}s its value; this command would "
                          f"{p.direction} it. Use another --study, or the same --direction.")
    recorded = study.user_attrs.get(SETTINGS_ATTR)
    if recorded is None:
        study.set_user_attr(SETTINGS_ATTR, p.settings)
    elif recorded != p.settings:
        differ = sorted(k for k in {*recorded, *p.settings} if recorded.get(k) != p.settings.get(k))
        raise GenzooError(f"study {p.study!r} in {shown(p.storage)} was started with other {', '.join(differ)} "
                          f"(it has {', '.join(f'{k}={recorded.get(k)!r}' for k in differ)}); its trials would not be "
                          "comparable. Run the command it was started with, or give a new --study.")
    return study


# -- one trial ---------------------------------------------------------------------------------


class _Surplus(Exception):
    """The study had its N trials by the time this one was handed out (another process was quicker)."""


class _Reporter:
    """The trainer's evaluator, wrapped: each periodic score goes to the pruner, which may stop the trial.

    The trainer calls it every ``eval_every`` steps, then once more for the final weights when the
    last step is not one of those; that last call is the trial's value, not an intermediate report.
    """

    def __init__(self, evaluate: Callable[[Any], list[Any]], trial: Any, score: str, every: int, steps: int | None,
                 optuna: Any) -> None:
        self.evaluate, self.trial, self.score, self.every, self.steps = evaluate, trial, score, every, steps
        self.optuna, self.calls = optuna, 0

    def __call__(self, model: Any) -> list[Any]:
        scores = self.evaluate(model)
        self.calls += 1
        value = pick(scores, self.score)
        if self.calls == 1:
            self.trial.set_user_attr("protocol", value.protocol.to_dict())
        step = self.calls * self.every
        if self.every and (self.steps is None or step <= self.steps):
            self.trial.report(value.value, step)
            if self.trial.should_prune():
                self.trial.set_user_attr("pruned_at", step)
                raise self.optuna.TrialPruned(f"pruned at step {step} ({self.score} {value.value:.4g})")
        return scores


def pick(scores: list[Any], name: str) -> Any:
    for s in scores:
        if s.name == name:
            return s
    raise GenzooError(f"the evaluation gave {', '.join(s.name for s in scores)}, not {name}; "
                      f"choose one with --metric METRIC:SCORE.")


def _finished(trials: list[Any], optuna: Any) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sum(t.state in states for t in trials)


def worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_trial(p: Plan, trial: Any, optuna: Any, log: Callable[[str], Any]) -> float:
    """The objective: claim a place among the N, train in OUT/trial-NNNN, return the final score."""
    trials = trial.study.get_trials(deepcopy=False)
    ahead = sum(t.number < trial.number and t.state != optuna.trial.TrialState.FAIL for t in trials)
    if ahead >= p.trials:
        trial.set_user_attr("surplus", True)
        raise _Surplus(f"the study already has {p.trials} trials")
    values = p.space.suggest(trial, grid=p.options.sampler == "grid")
    ov = p.space.overrides(values, p.base)
    run_dir = p.out / f"trial-{trial.number:04d}"
    for key, value in (("run_dir", str(run_dir.resolve())), ("worker", worker())):
        trial.set_user_attr(key, value)
    log(f"trial {trial.number}: {_values(values)} ...")
    recipe = p.entry.make_recipe(ov["train"])
    evaluate = training_evaluator(p.data, metrics=[p.metric], n=p.options.eval_n, features=p.options.eval_features,
                                  data_root=p.options.data_root)
    reporter = _Reporter(evaluate, trial, p.score, p.options.eval_every, None if recipe.epochs else recipe.steps,
                         optuna)
    result = train(p.entry.name, p.data, out=run_dir, config=ov["model"], train=ov["train"],
                   preprocessing=ov["preprocessing"], data_root=p.options.data_root, progress=False,
                   eval_metrics=p.metric, eval_n=p.options.eval_n, eval_features=p.options.eval_features,
                   evaluator=reporter)
    score = pick(result.scores, p.score)
    trial.set_user_attr("protocol", score.protocol.to_dict())
    trial.set_user_attr("pretrained", str(Path(result.pretrained_dir).resolve()))
    trial.set_user_attr("steps", result.step)
    if result.stopped:
        trial.set_user_attr("stopped", result.stopped)
    return float(score.value)


def _values(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


# -- the loop ----------------------------------------------------------------------------------


def run_study(p: Plan, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Run trials of ``p`` until its study holds ``p.trials`` finished ones; returns ``summary``'s dict."""
    optuna = optuna_module()
    storage = open_storage(p.storage, p.options.heartbeat)
    study = open_study(p, storage)
    p.out.mkdir(parents=True, exist_ok=True)
    states = optuna.trial.TrialState
    pruner = type(study.pruner).__name__.replace("Pruner", "").lower().replace("nop", "no")
    log(f"study {p.study} in {shown(p.storage)}: {p.options.sampler} sampler, {pruner} pruner, {p.direction} "
        f"{p.score}; {_finished(study.get_trials(deepcopy=False), optuna)} of {p.trials} trials finished")
    failures = 0
    last_error = ""

    def objective(trial: Any) -> float:
        try:
            return run_trial(p, trial, optuna, log)
        except GenzooError as exc:
            trial.set_user_attr("error", str(exc).splitlines()[0])
            raise
        except KeyboardInterrupt:
            # stopped by a signal (preemption, Ctrl-C): Optuna fails the trial, and the next run of the
            # command trains the same values again instead of counting them as visited
            if trial.params:
                study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            raise

    def outcome(study: Any, t: Any) -> None:
        nonlocal failures, last_error
        if t.user_attrs.get("surplus"):
            return
        seconds = f" in {t.duration.total_seconds():.1f} s" if t.duration else ""
        if t.state == states.COMPLETE:
            failures = 0
            log(f"trial {t.number}: {p.score} {t.value:.4g}{seconds}")
        elif t.state == states.PRUNED:
            failures = 0
            log(f"trial {t.number}: pruned at step {t.user_attrs.get('pruned_at', '?')}{seconds}")
        else:
            failures += 1
            last_error = t.user_attrs.get("error", "see the run dir")
            log(f"trial {t.number}: FAILED: {last_error}")

    with quiet(optuna):
        while True:
            optuna.storages.fail_stale_trials(study)  # a dead process's trial: failed, its values re-enqueued
            trials = study.get_trials(deepcopy=False)
            finished = _finished(trials, optuna)
            if finished >= p.trials:
                break
            waiting = sum(t.state == states.WAITING for t in trials)
            running = sum(t.state == states.RUNNING for t in trials)
            if finished + running >= p.trials and not waiting:
                time.sleep(min(p.options.heartbeat, 5))  # the last trials run elsewhere; wait, retry if one dies
                continue
            study.optimize(objective, n_trials=1, catch=(GenzooError, _Surplus), callbacks=[outcome])
            if failures >= FAILURES_IN_A_ROW:
                raise GenzooError(f"{failures} trials in a row failed, the last with: {last_error} "
                                  f"(run dirs in {p.out}); fix the command, then run it again to continue the study.")
    return finish(p, study, optuna, log)


def finish(p: Plan, study: Any, optuna: Any, log: Callable[[str], Any]) -> dict[str, Any]:
    """Name the best trial, record it on the study, and link OUT/best to its weights when they are here."""
    trials = study.get_trials(deepcopy=False)
    states = optuna.trial.TrialState
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in (states.COMPLETE, states.PRUNED, states.FAIL)}
    summary: dict[str, Any] = {"study": p.study, "storage": shown(p.storage), "trials": counts, "best": None}
    complete = [t for t in trials if t.state == states.COMPLETE]
    if not complete:
        log(f"study {p.study}: no trial completed ({counts['pruned']} pruned, {counts['fail']} failed).")
        return summary
    best = study.best_trial
    best_info = {"trial": best.number, "value": best.value, "params": best.params,
                 "pretrained": best.user_attrs.get("pretrained", ""), "worker": best.user_attrs.get("worker", "")}
    study.set_user_attr("best", best_info)
    summary["best"] = best_info
    log(f"study {p.study}: {counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed; best "
        f"trial {best.number}: {p.score} {best.value:.4g} ({_values(best.params)})")
    where = Path(best_info["pretrained"])
    if where.is_dir():
        link = p.out / "best"
        tmp = p.out / f".best-{os.getpid()}"
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
            out = p.out.resolve()
            target = os.path.relpath(where, out) if where.is_relative_to(out) else str(where)
            os.symlink(target, tmp)
            os.replace(tmp, link)
            summary["link"] = str(link)
        log(f"best weights: {where}" + (f" (linked as {link})" if "link" in summary else ""))
    else:
        log(f"best weights: {best_info['pretrained']} on {best_info['worker'].split(':')[0]}")
    return summary
