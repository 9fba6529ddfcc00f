"""The shared trainer on real data: exact resume, NaN guard, early stopping, EMA, run layout."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import genzoo
from genzoo.core.data import BatchLoader, load_digits
from genzoo.core.errors import GenzooError
from genzoo.core.metrics.protocol import Protocol, Score
from genzoo.core.model import ZooModel
from genzoo.core.phases import Phase
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig
from genzoo.core.trainer import Trainer

SMALL = {"g_width": 8, "d_width": 8, "latent_dim": 16}
QUIET = {"batch_size": 16, "log_every": 2, "sample_every": 0, "checkpoint_every": 0, "ema_decay": 0.9,
         "ema_start": 1}


def _tensors(run: Path) -> dict[str, torch.Tensor]:
    out = load_file(run / "pretrained" / "model.safetensors")
    out.update({f"ema.{k}": v for k, v in load_file(run / "pretrained" / "model.ema.safetensors").items()})
    return out


def _logs(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_resume_continues_exactly(data_root: Path, tmp_path: Path) -> None:
    """train(6) equals train(3) + resume to 6, tensor for tensor, on real MNIST."""
    kw = {"config": SMALL, "data_root": data_root, "progress": False}
    genzoo.train("dcgan-mnist", "mnist", steps=6, out=tmp_path / "full", train=QUIET, **kw)
    genzoo.train("dcgan-mnist", "mnist", steps=3, out=tmp_path / "split", train=QUIET, **kw)
    genzoo.train(resume=tmp_path / "split", steps=6, data_root=data_root, progress=False)
    full, split = _tensors(tmp_path / "full"), _tensors(tmp_path / "split")
    assert full.keys() == split.keys()
    for name in full:
        assert torch.equal(full[name], split[name]), name
    full_logs, split_logs = _logs(tmp_path / "full"), _logs(tmp_path / "split")
    assert [e["step"] for e in split_logs] == [2, 3, 4, 6]  # the first run also logs its last step
    assert full_logs[-1]["g.loss"] == split_logs[-1]["g.loss"]


def test_run_dir_layout_and_refusal_to_overwrite(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = genzoo.train("dcgan-mnist", "mnist", steps=4, out=run, config=SMALL, data_root=data_root,
                          train={**QUIET, "sample_every": 2, "checkpoint_every": 2}, progress=False)
    assert result.step == 4
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000002.png", "step-0000004.png"]
    assert (run / "checkpoints" / "last.safetensors").is_file()
    assert {p.name for p in (run / "pretrained").iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    assert not list(run.rglob("*.tmp"))
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["config"]["g_width"] == 8 and run_json["train"]["batch_size"] == 16
    before = (run / "run.json").read_bytes()
    with pytest.raises(GenzooError, match="already holds a run"):
        genzoo.train("dcgan-mnist", "mnist", steps=1, out=run, data_root=data_root, progress=False)
    assert (run / "run.json").read_bytes() == before
    model = genzoo.create_model(str(run))
    gen = torch.Generator().manual_seed(0)
    assert model.sample(3, generator=gen).shape == (3, 1, 28, 28)


@dataclass(frozen=True)
class ToyConfig:
    width: int = 4


class Toy(ZooModel):
    """One linear layer whose loss we can poison or freeze, to exercise the trainer's safety nets."""

    capabilities = frozenset()

    def __init__(self, poison: set[int] | None = None, constant: bool = False) -> None:
        super().__init__(ToyConfig())
        self.net = nn.Linear(4, 1)
        self.poison, self.constant, self.calls = poison or set(), constant, 0

    def _loss(self, batch):
        self.calls += 1
        x = batch.images.flatten(1)[:, :4]
        loss = self.net(x).pow(2).mean()
        if self.constant:
            loss = loss * 0 + 1.0
        if self.calls in self.poison:
            loss = loss * float("nan")
        return {"loss": loss}

    def phases(self):
        return [Phase("fit", [self.net], self._loss)]


def _loader() -> BatchLoader:
    return BatchLoader(load_digits(split="train"), Preprocessing(), batch_size=8, seed=0, device="cpu")


def test_non_finite_steps_are_skipped_without_touching_weights() -> None:
    model = Toy(poison={3})
    trainer = Trainer(model, _loader(), TrainConfig(steps=2, log_every=1, sample_every=0, device="cpu"),
                      progress=False)
    trainer.fit()
    before = [p.detach().clone() for p in model.parameters()]
    opt_state = {k: v.clone() for k, v in trainer.optimizers["fit"].state_dict()["state"][0].items()}
    trainer.config = TrainConfig(steps=3, log_every=1, sample_every=0, device="cpu")
    trainer.total = 3
    result = trainer.fit()
    assert result.logs["skipped_steps"] == 1.0
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters()))
    after = trainer.optimizers["fit"].state_dict()["state"][0]
    assert all(torch.equal(opt_state[k], after[k]) for k in opt_state)  # Adam's step count did not move


def test_repeated_non_finite_losses_abort_cleanly(tmp_path: Path) -> None:
    model = Toy(poison=set(range(3, 100)))
    cfg = TrainConfig(steps=50, log_every=2, sample_every=0, checkpoint_every=0, max_bad_steps=4, device="cpu")
    with pytest.raises(GenzooError, match="updates in a row had non-finite losses"):
        Trainer(model, _loader(), cfg, tmp_path, progress=False).fit()
    assert (tmp_path / "checkpoints" / "last.safetensors").is_file()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_early_stopping_on_a_monitored_value() -> None:
    cfg = TrainConfig(steps=100, log_every=2, sample_every=0, monitor="fit.loss", patience=3, device="cpu")
    result = Trainer(Toy(constant=True), _loader(), cfg, progress=False).fit()
    assert result.stopped == "early stop" and result.step == 8  # first interval sets best, 3 stale follow
    bad = TrainConfig(steps=10, log_every=2, sample_every=0, monitor="nope", patience=1, device="cpu")
    with pytest.raises(GenzooError, match="train.monitor='nope' is not a logged value"):
        Trainer(Toy(), _loader(), bad, progress=False).fit()


def test_ema_tracks_the_live_weights() -> None:
    model = genzoo.create_model("dcgan-mnist", **SMALL)
    images = load_digits(split="train")
    from genzoo.core.data import format_images

    loader = BatchLoader(format_images(images, 28, 1), Preprocessing(), 16, 0, "cpu")
    cfg = TrainConfig(steps=5, log_every=5, sample_every=0, ema_decay=0.5, ema_start=0, device="cpu")
    trainer = Trainer(model, loader, cfg, progress=False)
    trainer.fit()
    live = dict(model.generator.named_parameters())
    shadow = dict(trainer.ema.shadows["generator"].named_parameters())
    assert all(not torch.equal(live[k], shadow[k]) for k in live if live[k].ndim > 1)
    assert all((live[k] - shadow[k]).abs().max() < 0.05 for k in live)


def test_ema_half_life_ramps_up_with_the_run() -> None:
    """The average spans 2% of the run so far (half-life), so a short run samples from recent
    weights and a long one from a long average, up to the configured decay."""
    from genzoo.core.ema import EMA

    ema = EMA(nn.Module(), (), decay=0.999)
    assert ema.decay_at(0) < 1e-6  # the first update copies the live weights
    for t in (99, 599, 2999):
        assert ema.decay_at(t) ** (0.02 * (t + 1)) == pytest.approx(0.5)  # weight left after the half-life
    decays = [ema.decay_at(t) for t in range(0, 100_000, 500)]
    assert decays == sorted(decays) and decays[-1] == 0.999


def test_the_trainer_samples_what_the_saved_model_samples(tmp_path: Path) -> None:
    """Grids and evaluations during training use the EMA generator in eval mode (batch-norm running
    statistics), exactly as the pretrained folder does once loaded."""
    from genzoo.core.data import format_images

    model = genzoo.create_model("dcgan-mnist", **SMALL)
    loader = BatchLoader(format_images(load_digits(split="train"), 28, 1), Preprocessing(), 16, 0, "cpu")
    cfg = TrainConfig(steps=3, log_every=3, sample_every=0, checkpoint_every=0, ema_decay=0.9, device="cpu")
    trainer = Trainer(model, loader, cfg, tmp_path, progress=False)
    trainer.fit()
    with trainer._sampling_weights():
        during = model.sample(4, generator=torch.Generator().manual_seed(0))
    saved = genzoo.create_model(str(tmp_path / "pretrained")).sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(during, saved)
    assert model.training and model.generator.training  # the live modules are back in training mode


def test_periodic_evaluation_is_logged_and_can_stop_training(tmp_path: Path) -> None:
    scores = iter([5.0, 4.0, 4.5, 4.2, 4.1, 3.0])
    seen: list[bool] = []

    def evaluate(model: ZooModel) -> list[Score]:
        seen.append(model.training)
        return [Score("fid", next(scores), Protocol("fid", n_fake=7))]

    cfg = TrainConfig(steps=100, log_every=5, eval_every=2, sample_every=0, checkpoint_every=0,
                      monitor="eval.fid", patience=3, device="cpu")
    result = Trainer(Toy(), _loader(), cfg, tmp_path, progress=False, evaluate=evaluate).fit()
    assert result.stopped == "early stop" and result.step == 10  # best at step 4, then 3 evaluations without
    assert seen == [False] * 5  # evaluated in eval mode; the step-10 evaluation is the final one, not redone
    assert result.scores == [Score("fid", 4.1, Protocol("fid", n_fake=7))] and result.logs["eval.fid"] == 4.1
    assert [e["eval.fid"] for e in _logs(tmp_path) if "eval.fid" in e] == [5.0, 4.0, 4.5, 4.2, 4.1]
    config = json.loads((tmp_path / "pretrained" / "config.json").read_text())  # written once, with the scores
    assert [s["value"] for s in config["eval_scores"]] == [4.1] and config["eval_results"][0]["results"]
    assert (config["provenance"]["steps"], config["provenance"]["stopped"]) == (10, "early stop")
    with pytest.raises(GenzooError, match="no evaluator was given"):
        Trainer(Toy(), _loader(), TrainConfig(eval_every=2, device="cpu"), progress=False)


@pytest.mark.parametrize(("steps", "evaluated_at"), [(5, [2, 4, 5]), (4, [2, 4])])
def test_the_final_weights_are_evaluated_once(tmp_path: Path, steps: int, evaluated_at: list[int]) -> None:
    """A run whose last step is not an evaluation step is scored once more at the end; one whose last
    step is keeps that evaluation instead of sampling again."""
    trainer: Trainer
    folder_existed: list[bool] = []

    def evaluate(model: ZooModel) -> list[Score]:
        folder_existed.append((tmp_path / "pretrained").exists())
        return [Score("fid", float(trainer.step), Protocol("fid", real_data="digits", real_split="test"))]

    cfg = TrainConfig(steps=steps, log_every=5, eval_every=2, sample_every=0, checkpoint_every=0, device="cpu")
    trainer = Trainer(Toy(), _loader(), cfg, tmp_path, progress=False, evaluate=evaluate)
    result = trainer.fit()
    assert [e["step"] for e in _logs(tmp_path) if "eval.fid" in e] == evaluated_at
    assert [s.value for s in result.scores] == [steps] and result.logs["eval.fid"] == steps
    # the pretrained folder is written after the final evaluation, once, with its scores
    assert folder_existed == [False] * len(evaluated_at)
    config = json.loads((tmp_path / "pretrained" / "config.json").read_text())
    assert [s["value"] for s in config["eval_scores"]] == [steps]
    assert config["eval_results"][0]["results"][0]["dataset"] == {"name": "digits", "type": "digits", "split": "test"}
    assert config["provenance"]["steps"] == steps and "stopped" not in config["provenance"]
    assert f'"value": {float(steps)}' in (tmp_path / "pretrained" / "README.md").read_text()


def test_a_phase_sharing_an_optimiser_must_update_only_what_that_optimiser_holds() -> None:
    """A lazy regulariser steps its player's optimiser; one that names the wrong player is refused up front."""
    model = genzoo.create_model("dcgan-mnist", g_width=8, d_width=8)
    d, g = model.phases()
    wrong = Phase("d_reg", d.modules, d.loss, every=4, shares_optimizer="g")
    model.phases = lambda: [d, g, wrong]
    loader = BatchLoader(genzoo.load_data("digits", image_size=28, channels=1), model.preprocessing, 8)
    with pytest.raises(GenzooError, match="phase 'd_reg' updates .* which the optimiser of phase 'g' it shares"):
        Trainer(model, loader, TrainConfig(steps=1))


@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_bf16_precision_runs_the_forward_under_autocast_on_the_cpu(precision: str, dtype: torch.dtype) -> None:
    """train.precision=bf16 is honoured on a CPU, where AVX512-BF16 or AMX make it the faster choice
    (bench/cpu_bf16.py), while the weights the optimiser updates stay fp32."""
    model = Toy()
    seen = []
    model.net.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    cfg = TrainConfig(steps=2, log_every=1, sample_every=0, precision=precision, device="cpu")
    before = model.net.weight.detach().clone()
    result = Trainer(model, _loader(), cfg, progress=False).fit()
    assert seen == [dtype, dtype]
    assert model.net.weight.dtype == torch.float32 and not torch.equal(model.net.weight, before)
    assert result.logs["skipped_steps"] == 0.0


def test_training_on_the_cpu_flushes_denormal_floats() -> None:
    """Denormals take the CPU's slow path: a realnvp-cifar10 checkpoint with 350,000 of them
    resumed 3.4x slower until they were flushed (bench/denormals.py)."""
    torch.set_flush_denormal(False)
    tiny = torch.tensor([1e-39])
    assert (tiny * 2).item() > 0  # by default a denormal survives arithmetic
    Trainer(Toy(), _loader(), TrainConfig(steps=1, sample_every=0, device="cpu"), progress=False)
    assert (tiny * 2).item() == 0.0


@pytest.mark.parametrize("opener", ["evaluate", "open_model"])
def test_evaluation_and_model_commands_flush_denormal_floats(opener: str, tmp_path: Path) -> None:
    from genzoo.cli.model_arg import open_model

    torch.set_flush_denormal(False)
    tiny = torch.tensor([1e-39])
    assert (tiny * 2).item() > 0
    if opener == "evaluate":
        genzoo.evaluate("vae-mnist", data="digits", metrics="psnr", n=4, out=tmp_path / "eval.json")
    else:
        open_model("dcgan-digits", "default", outputs="samples are noise")
    assert (tiny * 2).item() == 0.0
