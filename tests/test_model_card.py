"""The model card of a trained run: written once, with the final scores; says how the weights were made
(data and its content hash, steps, batch, seed, wall time, machine, versions, the exact command); and its
usage snippet names where the weights really load from: the run dir, or the hub location once pushed."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shlex
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import genzoo
from genzoo.cli import cli
from genzoo.core.metrics.protocol import Protocol, Score
from genzoo.core.tensorfile import load_tensors
from genzoo.hub.directory import MANIFEST
from genzoo.zoo import get_zoo

SMALL = {"g_width": 8, "d_width": 8, "latent_dim": 16}
QUIET = {"batch_size": 16, "log_every": 2, "sample_every": 0, "checkpoint_every": 0, "seed": 3}
COMMAND = "genzoo train dcgan-mnist --steps 5 --eval-every 2 --set 'train.seed=3' | tee log.txt"


class StubEvaluator:
    """Stands in for the zoo evaluator (its metric code is tested in test_metrics_eval): one FID-named score
    per call, numbered, so the card can be matched to the call that produced it."""

    def __init__(self, interrupt_at: int = 0) -> None:
        self.calls: list[int] = []
        self.interrupt_at = interrupt_at

    def __call__(self, data: str, **options: object):
        def evaluate(model: torch.nn.Module) -> list[Score]:
            self.calls.append(len(self.calls) + 1)
            if len(self.calls) == self.interrupt_at:
                raise KeyboardInterrupt
            protocol = Protocol("fid", extractor="stub", real_data=data, real_split="test", n_real=7, n_fake=7)
            return [Score("fid", 100.0 + len(self.calls), protocol)]

        return evaluate


@pytest.fixture
def stub_evaluator(monkeypatch: pytest.MonkeyPatch) -> StubEvaluator:
    stub = StubEvaluator()
    monkeypatch.setattr(importlib.import_module("genzoo.training.train"), "training_evaluator", stub)
    return stub


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """What reaches its final name (every atomic write, file or folder, ends in os.replace) and every card
    rendered, whichever module renders it."""
    seen: dict[str, list] = {"replaced": [], "cards": []}
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        seen["replaced"].append(Path(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    for module in ("genzoo.core.pretrained", "genzoo.evaluation.card"):
        mod = importlib.import_module(module)
        real_card = mod.model_card

        def card(*args, _real=real_card, **kwargs):
            seen["cards"].append(kwargs.get("location"))
            return _real(*args, **kwargs)

        monkeypatch.setattr(mod, "model_card", card)
    return seen


def _under(seen: list[Path], folder: Path) -> list[Path]:
    return [p for p in seen if p == folder or folder in p.parents]


def _snippet_location(card: str) -> str:
    return json.loads(re.search(r"genzoo\.create_model\((\".*?\")\)", card).group(1))


def _mnist(data_root: Path):
    prep = genzoo.create_model("dcgan-mnist").preprocessing
    return genzoo.load_data("mnist", image_size=28, channels=1, resize=prep.resize, root=data_root)


def test_a_run_writes_its_card_once_with_scores_and_provenance(data_root: Path, tmp_path: Path,
                                                               stub_evaluator: StubEvaluator, writes: dict) -> None:
    run = tmp_path / "run"
    result = genzoo.train("dcgan-mnist", "mnist", steps=5, out=run, config=SMALL, data_root=data_root,
                          train={**QUIET, "eval_every": 2}, progress=False, command=COMMAND)
    pretrained = run / "pretrained"
    # evaluated at steps 2 and 4, then the final weights once (5 is not an evaluation step) ...
    assert stub_evaluator.calls == [1, 2, 3] and [s.value for s in result.scores] == [103.0]
    # ... before the pretrained folder was written: one folder moved into place, one card, no rewrite after
    assert _under(writes["replaced"], pretrained) == [pretrained]
    assert writes["cards"] == [str(run.resolve())]

    config = json.loads((pretrained / "config.json").read_text())
    card = (pretrained / "README.md").read_text()
    assert [s["value"] for s in config["eval_scores"]] == [103.0]
    index = json.loads(next(line for line in card.splitlines() if line.startswith("model-index: "))[13:])
    assert index == config["eval_results"] and index[0]["results"][0]["metrics"][0]["value"] == 103.0

    data = _mnist(data_root)
    prov = config["provenance"]
    assert prov["data"] == {"name": "mnist", "sha256": data.content_hash(), "images": len(data)}
    assert (prov["steps"], prov["batch_size"], prov["seed"]) == (5, 16, 3)
    assert prov["command"] == COMMAND and "resumed_by" not in prov
    assert prov["genzoo_version"] == genzoo.__version__
    assert prov["plugin_version"] == get_zoo().plugins["dcgan"].version != ""
    assert 0 < prov["wall_time_s"] < 600 and "CPUs" in prov["machine"]

    made = card.split("## How it was made", 1)[1]
    assert f"| Data | `mnist` ({len(data):,} images; sha256 `{data.content_hash()}`) |" in made
    assert "| Steps | 5 |" in made and "| Batch size | 16 |" in made and "| Seed | 3 |" in made
    assert re.search(r"\| Wall time \| \d+\.\d s \|", made)
    assert f"| Machine | {prov['machine']} |" in made
    assert f"| genzoo | {genzoo.__version__} |" in made and f"| Plugin | `dcgan` {prov['plugin_version']} |" in made
    assert f"```bash\n{COMMAND}\n```" in made  # verbatim, quotes and pipe included

    # the snippet names the run dir, which loads the trained weights as they are
    assert "PATH_OR_HUB_ID" not in card and _snippet_location(card) == str(run.resolve())
    assert f"genzoo sample {run.resolve()} --n 16" in card
    model = genzoo.create_model(_snippet_location(card))
    assert model.meta.provenance == prov
    saved = genzoo.create_model(str(pretrained))
    assert all(torch.equal(v, saved.state_dict()[k]) for k, v in model.state_dict().items())


def test_an_interrupted_final_evaluation_is_redone_by_resume(data_root: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, writes: dict) -> None:
    """The final checkpoint comes before the final evaluation, and the folder after it: a kill during that
    evaluation leaves no pretrained folder, and --resume scores the final weights and writes it, once."""
    stub = StubEvaluator(interrupt_at=3)
    monkeypatch.setattr(importlib.import_module("genzoo.training.train"), "training_evaluator", stub)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        genzoo.train("dcgan-mnist", "mnist", steps=5, out=run, config=SMALL, data_root=data_root,
                     train={**QUIET, "eval_every": 2}, progress=False, command=COMMAND)
    assert (run / "checkpoints" / "last.safetensors").is_file() and not (run / "pretrained").exists()
    assert writes["cards"] == []

    stub.calls.clear()
    genzoo.train(resume=run, data_root=data_root, progress=False, command="genzoo train --resume run")
    assert stub.calls == [1]  # only the final weights, at step 5
    assert _under(writes["replaced"], run / "pretrained") == [run / "pretrained"] and len(writes["cards"]) == 1
    config = json.loads((run / "pretrained" / "config.json").read_text())
    assert [s["value"] for s in config["eval_scores"]] == [101.0]
    prov = config["provenance"]
    assert prov["steps"] == 5 and prov["command"] == COMMAND and prov["resumed_by"] == "genzoo train --resume run"
    card = (run / "pretrained" / "README.md").read_text()
    assert f"```bash\n{COMMAND}\n```" in card and "```bash\ngenzoo train --resume run\n```" in card


@pytest.fixture(scope="module")
def trained(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run (no evaluator), shared by the tests below, which must not change it."""
    run = tmp_path_factory.mktemp("trained") / "run"
    genzoo.train("dcgan-mnist", "mnist", steps=3, out=run, config=SMALL, data_root=data_root, train=QUIET,
                 progress=False, command=COMMAND)
    return run


def test_eval_card_keeps_provenance_and_the_snippet(trained: Path, tmp_path: Path) -> None:
    """`genzoo eval --card` (record_in_card) re-renders the card with the same function: the scores are
    added, and how the weights were made and where they load from stay."""
    import shutil

    from genzoo.evaluation.card import record_in_card
    from genzoo.evaluation.evaluate import EvalResult

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    before = (run / "pretrained" / "README.md").read_text()
    protocol = Protocol("kid", extractor="stub", real_data="mnist", real_split="test", n_real=9, n_fake=9)
    record_in_card(run, EvalResult(str(run), "mnist", "test", [Score("kid", 0.25, protocol)]))
    config = json.loads((run / "pretrained" / "config.json").read_text())
    card = (run / "pretrained" / "README.md").read_text()
    assert [s["value"] for s in config["eval_scores"]] == [0.25] and '"type": "kid"' in card
    assert config["provenance"] == json.loads((trained / "pretrained" / "config.json").read_text())["provenance"]
    assert _snippet_location(card) == str(run.resolve())
    assert card.split("## How it was made")[1] == before.split("## How it was made")[1]


def _state(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("revision", [None, "exp"])
def test_a_pushed_card_names_its_hub_location(trained: Path, online: Path, revision: str | None) -> None:
    """`genzoo push` publishes a card whose snippet loads the hub location (with its branch); the other
    files travel byte for byte, the manifest's sha256 is that of the card published, and the local folder
    (card included) is left exactly as it was."""
    before = _state(trained / "pretrained")
    loc = f"file://{online}/hub/team/tiny"
    target = loc + (f"@{revision}" if revision else "")
    out = CliRunner().invoke(cli, ["push", str(trained), target], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert _state(trained / "pretrained") == before

    pulled = genzoo.hub.pull(target)
    card = (pulled / "README.md").read_text()
    local = (trained / "pretrained" / "README.md").read_text()
    assert _snippet_location(card) == target and f"genzoo sample {target} --n 16" in card
    assert str(trained) not in card and "pretrained=True" not in card
    # only the usage snippets differ from the local card: the provenance and scores travel as written
    assert card.replace(target, "LOC") == local.replace(str(trained.resolve()), "LOC")
    for name in before:
        if name != "README.md":
            assert (pulled / name).read_bytes() == before[name][0], name
    manifest = json.loads((online / "hub" / "team" / "tiny" / "snapshots" / pulled.name / MANIFEST).read_text())
    assert manifest["files"]["README.md"]["sha256"] == hashlib.sha256(card.encode()).hexdigest()
    assert genzoo.create_model(target).meta.provenance["command"] == COMMAND


def test_push_keeps_hand_edits_and_renders_old_cards_afresh(trained: Path, online: Path) -> None:
    """A card edited by hand keeps its edits (only the snippet is re-targeted); a folder whose card predates
    the snippet markers (the PATH_OR_HUB_ID placeholder) is published with a card rendered from config.json."""
    import shutil

    edited = online / "edited"
    shutil.copytree(trained / "pretrained", edited)
    with open(edited / "README.md", "a", encoding="utf-8") as f:
        f.write("\nTrained for a talk; see the slides.\n")
    genzoo.hub.push(edited, f"file://{online}/hub/team/edited")
    card = (genzoo.hub.pull(f"file://{online}/hub/team/edited") / "README.md").read_text()
    assert card.endswith("Trained for a talk; see the slides.\n")
    assert _snippet_location(card) == f"file://{online}/hub/team/edited"

    old = online / "old"
    shutil.copytree(trained / "pretrained", old)
    (old / "README.md").write_text('model = genzoo.create_model("PATH_OR_HUB_ID", pretrained=True)\n')
    genzoo.hub.push(old, f"file://{online}/hub/team/old")
    card = (genzoo.hub.pull(f"file://{online}/hub/team/old") / "README.md").read_text()
    assert "PATH_OR_HUB_ID" not in card and _snippet_location(card) == f"file://{online}/hub/team/old"
    assert f"```bash\n{COMMAND}\n```" in card
    assert (old / "README.md").read_text().startswith('model = genzoo.create_model("PATH_OR_HUB_ID"')


def test_the_recorded_command_reproduces_the_run(tmp_path: Path) -> None:
    """Started from Python, the run records the `genzoo train` line that makes it from scratch; run through
    the CLI, that line trains the same model on the same data to the same weights."""
    first = tmp_path / "first"
    genzoo.train("dcgan-digits", "digits", out=first, config={"g_width": 8, "d_width": 8, "latent_dim": 8},
                 train={"steps": 3, "batch_size": 16, "seed": 5, "sample_every": 0}, preprocessing={"hflip": True},
                 progress=False)
    command = json.loads((first / "pretrained" / "config.json").read_text())["provenance"]["command"]
    assert command.startswith("genzoo train dcgan-digits --data digits --out ")
    assert "--set model.g_width=8" in command and "--set preprocessing.hflip=true" in command
    words = shlex.split(command)
    second = tmp_path / "second"
    words[words.index("--out") + 1] = str(second)
    result = CliRunner().invoke(cli, words[1:])
    assert result.exit_code == 0, result.output
    one, two = (json.loads((run / "run.json").read_text()) for run in (first, second))
    for key in ("model", "data", "config", "train", "preprocessing"):
        assert one[key] == two[key], key
    a, _ = load_tensors(first / "pretrained" / "model.safetensors")
    b, _ = load_tensors(second / "pretrained" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_run_records_what_resumed_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    genzoo.train("dcgan-digits", "digits", out=run, config={"g_width": 8, "d_width": 8, "latent_dim": 8},
                 train={"steps": 2, "batch_size": 16, "sample_every": 0}, progress=False)
    genzoo.train(resume=run, steps=4, progress=False)
    provenance = json.loads((run / "pretrained" / "config.json").read_text())["provenance"]
    assert provenance["steps"] == 4 and "--set train.steps=2" in provenance["command"]
    assert provenance["resumed_by"] == f"genzoo train --resume {run} --set train.steps=4"
