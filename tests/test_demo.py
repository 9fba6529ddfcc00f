"""`genzoo demo`: a step budget (the same digits on a fast or a loaded machine), then a sample grid."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

from genzoo.cli import cli


def test_demo_trains_its_steps_then_writes_the_grid(tmp_path):
    """Offline and without MNIST it falls back to the bundled digits; it stops at --steps, not at a time."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--steps", "3", "--data-root", str(tmp_path / "no-mnist"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Falling back to the digits set" in result.output and "trained 3 steps in" in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["train"]["steps"] == 3 and run["train"]["max_minutes"] == 0
    assert Image.open(out / "demo-samples.png").size == (8 * 30 + 2, 8 * 30 + 2)
    again = CliRunner().invoke(cli, ["demo", "--steps", "0", "--out", str(out)])
    assert again.exit_code != 0 and "--steps and --minutes must be positive" in again.output
