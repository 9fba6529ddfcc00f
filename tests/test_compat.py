"""What users already have keeps working: a run dir and pretrained folder written by genzoo 0.1.0.

tests/fixtures/run-v0.1.0 was made by the code before registry/ became subpackages (a 2-step
dcgan-digits run at width 8, EMA on, a checkpoint every step), byte for byte as it wrote it:
its config.json has no provenance and its run.json no command.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

import genzoo
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.tensorfile import load_tensors

OLD_RUN = Path(__file__).parent / "fixtures" / "run-v0.1.0"


def test_an_old_run_dir_and_its_pretrained_folder_load_with_their_ema_weights() -> None:
    from_run = genzoo.create_model(str(OLD_RUN))
    from_folder = genzoo.create_model(str(OLD_RUN / "pretrained"), variant="ema")
    ema, _ = load_tensors(OLD_RUN / "pretrained" / "model.ema.safetensors")
    for name, tensor in ema.items():
        assert torch.equal(from_run.state_dict()[name], tensor)
        assert torch.equal(from_folder.state_dict()[name], tensor)
    assert from_run.meta.name == "dcgan-digits" and from_run.preprocessing == Preprocessing(normalize="minus_one_one")
    with torch.no_grad():
        images = from_run.sample(4, generator=torch.Generator().manual_seed(0))
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1


def test_an_old_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    before, _ = load_tensors(run / "pretrained" / "model.safetensors")
    result = genzoo.train(resume=run, steps=4, progress=False)
    assert result.step == 4
    after, _ = load_tensors(run / "pretrained" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before), "resuming trained nothing"
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[0] == 2 and logged[-1] == 4  # the old log continues, nothing is rewritten
