"""First contact with `genzoo eval`: every check that can fail runs before the first sample is drawn, and a
metric the model cannot support is "n/a (reason)" beside the others, as in `genzoo bench`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from genzoo.cli import cli
from genzoo.core.errors import GenzooError

ARGS = ["--data", "mnist", "--n", "100", "--kid-subsets", "2", "--kid-subset-size", "50"]


@pytest.fixture
def draws(monkeypatch):
    """The real sampler, with a record of how many images were asked of it (the spy is all that differs)."""
    from genzoo.evaluation import evaluate as module

    asked, real = [], module.sample_uint8

    def counting(model, n, **kw):
        asked.append(n)
        return real(model, n, **kw)

    monkeypatch.setattr(module, "sample_uint8", counting)
    return asked


def eval_cli(*args: str):
    return CliRunner().invoke(cli, ["eval", *args], catch_exceptions=False)


def test_a_missing_evaluator_fails_before_sampling(data_root, draws, monkeypatch, tmp_path):
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "fresh-cache"))  # a new user: nothing trained locally
    out = eval_cli("dcgan-mnist", *ARGS, "--data-root", str(data_root), "--features", "local:lenet-mnist")
    assert out.exit_code != 0 and "is not trained yet" in out.output and "genzoo evaluator train mnist" in out.output
    assert draws == []


@pytest.mark.parametrize("case", ["data", "out", "out-under-a-file", "none-applies"])
def test_other_failures_come_before_sampling(case, data_root, draws, tmp_path, monkeypatch):
    """Real data that is not there, an --out that cannot be written, no requested metric applicable."""
    from genzoo.evaluation.evaluate import evaluate

    kw = {"n": 50, "data_root": data_root, "metrics": "fid"}
    if case == "data":
        monkeypatch.setenv("GENZOO_OFFLINE", "1")  # scoped to this test: later tests may download
        kw["data_root"], match = tmp_path / "empty", "mnist test files not found"
    elif case == "out":
        (tmp_path / "taken").mkdir()
        kw["out"], match = tmp_path / "taken", "is a folder"
    elif case == "out-under-a-file":
        (tmp_path / "notes").write_text("a user's file")
        kw["out"], match = tmp_path / "notes" / "scores.json", "notes is a file, not a folder"
    else:
        kw["metrics"], match = "bpd,psnr", r"none of the requested metrics applies.*bpd \(has no likelihood\)"
    with pytest.raises(GenzooError, match=match):
        evaluate("dcgan-mnist", "mnist", **kw)
    assert draws == []


def test_an_inapplicable_metric_is_na_beside_the_others(data_root, draws, tmp_path):
    """fid,kid,bpd on a GAN: FID and KID are computed from one draw of samples; bpd is n/a with the reason
    bench gives (genzoo.benchmark.suite's WHY), in the table, the notes and the JSON."""
    from genzoo.benchmark.suite import NEEDS, WHY

    out = eval_cli("dcgan-mnist", *ARGS, "--data-root", str(data_root), "--metrics", "fid,kid,bpd",
                   "--out", str(tmp_path / "scores.json"))
    assert out.exit_code == 0, out.output
    reason, text = WHY[NEEDS["bpd"]], " ".join(out.output.split())  # the table wraps at 80 columns
    assert f"bpd n/a ({reason})" in text and f"note: bpd: n/a (dcgan-mnist {reason})" in text
    saved = json.loads((tmp_path / "scores.json").read_text())
    assert [s["name"] for s in saved["scores"]] == ["fid", "kid"] and saved["na"] == {"bpd": reason}
    assert draws == [100]


def test_images_are_scored_and_model_metrics_are_na(data_root, draws, tmp_path):
    """An .npz stands for samples (FID applies); PSNR needs a model to reconstruct with: n/a, not an error."""
    import numpy as np

    import genzoo
    from genzoo.evaluation.evaluate import evaluate

    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root).images[-60:]
    np.savez(tmp_path / "x.npz", arr_0=test.permute(0, 2, 3, 1).numpy())
    result = evaluate(tmp_path / "x.npz", "mnist", metrics="fid,psnr", n=60, data_root=data_root)
    assert [s.name for s in result.scores] == ["fid"] and set(result.na) == {"psnr"} and "model" in result.na["psnr"]
    assert draws == []


def test_bench_checks_the_extractor_and_data_before_the_first_cell_trains(monkeypatch, tmp_path):
    """A suite whose extractor is missing fails in seconds, with no cell trained, instead of after training."""
    catalog = tmp_path / "suites.toml"
    catalog.write_text('''
[suites.nofeatures]
data = "digits"
metrics = ["fid", "bpd"]
features = "local:lenet-digits"
n = 16
budget = { steps = 2 }
models = ["dcgan-digits"]
''', encoding="utf-8")
    monkeypatch.setenv("GENZOO_CATALOG", str(catalog))
    monkeypatch.setenv("GENZOO_CACHE", str(tmp_path / "cache"))
    out = CliRunner().invoke(cli, ["bench", "nofeatures", "--out", str(tmp_path / "out")])
    assert out.exit_code != 0 and "evaluator 'local:lenet-digits' is not trained yet" in out.output
    assert not list((tmp_path / "out").glob("cells/*"))
