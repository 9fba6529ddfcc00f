"""The command line as a user meets it: every mistake is one clear line and a non-zero exit."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from genzoo.cli import cli


def genzoo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "genzoo.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "dcgna"], "unknown model 'dcgna'. Did you mean: dcgan"),
        (["train", "dcgan-mnist", "--set", "latnt_dim=3"], "--set latnt_dim: dcgan-mnist has no such field"),
        (["train", "dcgan-mnist", "--set", "latent_dim=big"], "dcgan-mnist.latent_dim='big' must be an integer"),
        (["train", "dcgan-mnist", "--set", "train.batch_size=0"], "train.batch_size=0 is not allowed"),
        (["train", "dcgan-mnist", "--set", "nonsense"], "must look like key=value"),
        (["train", "dcgan-mnist", "--data", "/no/such/folder"], "/no/such/folder does not exist"),
        (["train", "dcgan-mnist", "--data", "imagenet"], "unknown dataset 'imagenet'"),
        (["sample", "/no/such/run"], "unknown model '/no/such/run'"),
        (["data", "check", "/no/such/folder"], "is not a folder"),
        (["train", "--resume", "/tmp"], "not a genzoo run"),
    ],
)
def test_mistakes_get_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    out = genzoo(*args, cwd=tmp_path)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("command", [
    ["denoise", "no-such-model", "mnist", "--out", "{out}/denoised"],
    ["score", "no-such-model", "mnist", "--out", "{out}/scores.csv"],
    ["translate", "no-such-model", "{image}", "--out", "{out}/zebra.png"],
    ["translate", "no-such-model", "{images}", "--out", "{out}/translated"],
])
def test_an_out_under_a_file_is_refused_before_the_model_opens(command: list[str], tmp_path: Path) -> None:
    """Every writing command checks its --out first: one line naming what is in the way, before any work."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "a.png")
    (tmp_path / "notes").write_text("a user's file")
    args = [a.format(out=tmp_path / "notes", image=tmp_path / "images" / "a.png", images=tmp_path / "images")
            for a in command]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code != 0 and "notes is a file, not a folder" in out.output, out.output
    assert "no-such-model" not in out.output and (tmp_path / "notes").read_text() == "a user's file"


def test_missing_mnist_says_where_it_looked(tmp_path: Path) -> None:
    out = genzoo("train", "dcgan-mnist", "--data-root", str(tmp_path), "--steps", "1", cwd=tmp_path)
    assert out.returncode == 1 and str(tmp_path) in out.stderr and "Traceback" not in out.stderr


def test_unreadable_weights_are_named(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert genzoo("train", "dcgan-mnist", "--data-root", str(data_root), "--steps", "1", "--out", str(run),
                  "--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=8").returncode == 0
    weights = run / "pretrained" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    out = genzoo("sample", str(run), "--out", str(tmp_path / "x.png"))
    assert out.returncode == 1 and "model.safetensors is not a readable safetensors file" in out.stderr


def test_train_then_sample_writes_a_grid(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = genzoo("train", "dcgan-mnist", "--data-root", str(data_root), "--steps", "2", "--out", str(run),
                     "--set", "g_width=8", "--set", "d_width=8", "--set", "train.batch_size=8")
    assert trained.returncode == 0, trained.stderr
    grid = tmp_path / "grid.png"
    sampled = genzoo("sample", str(run), "--n", "16", "--out", str(grid), "--seed", "3")
    assert sampled.returncode == 0, sampled.stderr
    from PIL import Image

    with Image.open(grid) as im:
        assert im.size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 grid of 28px images with 2px padding
    resumed = genzoo("train", "--resume", str(run), "--steps", "3", "--set", "train.log_every=1")
    assert resumed.returncode == 0 and "trained 3 steps" in resumed.stdout
    refused = genzoo("train", "--resume", str(run), "--set", "latent_dim=3")
    assert refused.returncode == 1 and "can only change train.* fields" in refused.stderr


def test_sample_set_passes_sampling_options_without_touching_the_model(tmp_path: Path) -> None:
    import torch

    from genzoo import create_model

    torch.manual_seed(0)
    folder = create_model("glow", image_size=4, levels=1, steps=1, hidden=4).save_pretrained(tmp_path / "glow")
    config = (folder / "config.json").read_bytes()
    grids = []
    for i, temperature in enumerate(["0.7", "0.3"]):
        grids.append(tmp_path / f"t{i}.png")
        out = genzoo("sample", str(folder), "--n", "4", "--out", str(grids[-1]), "--set", f"temperature={temperature}")
        assert out.returncode == 0, out.stderr
        assert f"temperature={float(temperature)}" in out.stdout
    assert grids[0].read_bytes() != grids[1].read_bytes()
    assert (folder / "config.json").read_bytes() == config
    typo = genzoo("sample", str(folder), "--set", "temprature=0.3", "--out", str(tmp_path / "x.png"))
    assert typo.returncode == 1 and "Traceback" not in typo.stderr
    assert "no field 'temprature'. Did you mean: temperature? Fields: temperature." in typo.stderr
    assert not (tmp_path / "x.png").exists()
    gan = genzoo("sample", "dcgan", "--set", "temperature=0.3", "--out", str(tmp_path / "y.png"))
    assert gan.returncode == 1 and "dcgan takes no sampling options (got temperature)" in gan.stderr
    section = re.compile(r"^sampling\s*$", re.MULTILINE)  # the table's title line
    assert section.search(genzoo("info", "glow-mnist").stdout)
    assert not section.search(genzoo("info", "dcgan-mnist").stdout)


def test_data_check_reports_problems_by_path(cifar_sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    sources = sorted((cifar_sample / "cat").iterdir())[:3]
    for src in sources:
        (folder / src.name).write_bytes(src.read_bytes())
    (folder / "copy.jpg").write_bytes(sources[0].read_bytes())
    (folder / "empty.png").write_bytes(b"")
    out = genzoo("data", "check", str(tmp_path / "imgs"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    flat = json.dumps(report)
    assert "copy.jpg" in flat and "empty.png" in flat


def test_resume_of_a_folder_without_run_json_is_one_line(tmp_path: Path) -> None:
    out = genzoo("train", "--resume", str(tmp_path), "--set", "train.steps=1")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"Error: {tmp_path} is not a genzoo run (it has no run.json); give the folder `genzoo train --out` wrote."]


def fake_run(folder: Path) -> Path:
    """A run dir's run.json alone: enough for the resume rules, which are checked before anything is loaded."""
    from genzoo.core.rundir import RunDir

    RunDir(folder).write({"model": "dcgan-mnist", "data": "mnist", "config": {}, "train": {}, "preprocessing": {}})
    return folder


def test_resume_refuses_to_change_the_model_in_python_and_on_the_command_line(tmp_path: Path) -> None:
    import genzoo

    run = fake_run(tmp_path / "run")
    with pytest.raises(genzoo.GenzooError, match=r"can only change train\.\* fields; latent_dim is fixed by the run"):
        genzoo.train(resume=run, config={"latent_dim": 8})
    with pytest.raises(genzoo.GenzooError, match=r"preprocessing\.resize is fixed by the run"):
        genzoo.train(resume=run, preprocessing={"resize": "crop"})
    out = genzoo_cli_lines("train", "--resume", str(run), "--set", "latent_dim=8")
    assert out == ["Error: a resumed run can only change train.* fields; latent_dim is fixed by the run (start a new "
                   "run to change it)."]
    assert sorted(p.name for p in run.iterdir()) == ["run.json"]  # nothing was started


def genzoo_cli_lines(*args: str) -> list[str]:
    """stderr of a command that must fail with exit code 1 and no traceback."""
    out = genzoo(*args)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    return out.stderr.strip().splitlines()


def test_list_piped_is_one_whole_line_per_model() -> None:
    from genzoo.zoo import get_zoo

    models = get_zoo().models
    out = CliRunner().invoke(cli, ["list"], prog_name="genzoo")  # CliRunner's stdout is not a terminal
    assert out.exit_code == 0, out.output
    header, *lines = out.output.splitlines()
    assert header.split() == ["name", "family", "capabilities", "plugin", "description"]
    assert [line.split()[0] for line in lines] == sorted(models)
    start = header.index("description")
    for line in lines:  # columns aligned; nothing wrapped or cut
        entry = models[line.split()[0]]
        assert line[start - 2 : start] == "  " and line[start:] == " ".join(entry.description.split())
        assert line.split()[1:4] == [entry.family, ",".join(entry.capabilities), entry.plugin]
    dcgan = [line for line in lines if "dcgan" in line]  # what `genzoo list | grep dcgan` keeps: whole rows
    assert {line.split()[0] for line in dcgan} == {n for n in models if "dcgan" in n}


def test_list_in_a_terminal_is_one_screen_line_per_model() -> None:
    from rich.console import Console

    from genzoo.cli.cmd_models import model_rows, terminal_table
    from genzoo.zoo import get_zoo

    names = get_zoo().list_models("*")
    for width in (80, 120):
        console = Console(width=width, force_terminal=True, color_system=None, file=io.StringIO())
        console.print(terminal_table(model_rows(names), width))
        header, *lines = console.file.getvalue().splitlines()
        assert header.split()[0] == "name" and header.split()[-1] == "description"
        assert len(lines) == len(names) and all(len(line) <= width for line in [header, *lines])
        assert [line.split()[0] for line in lines] == names  # names are never cut
        assert any(line.rstrip().endswith("…") for line in lines)  # long descriptions are, with an ellipsis
        short = [n for n in names if len(get_zoo().models[n].description) < 20]
        assert all(get_zoo().models[n].description in lines[names.index(n)] for n in short)


# Every command `genzoo --help` lists, with the options the README and their own help document.
COMMANDS = {
    "list": ["--family", "--plugin", "--json"],
    "info": ["--json"],
    "train": ["--data", "--data-root", "--steps", "--epochs", "--out", "--resume", "--set", "--eval-every"],
    "sample": ["--n", "--out", "--seed", "--label", "--per-class", "--variant", "--set", "--truncation", "--mix",
               "--layers"],
    "eval": ["--data", "--split", "--metrics", "--n", "--features", "--out", "--card"],
    "score": ["--split", "--out"],
    "denoise": ["--split", "--n", "--noise-std", "--out"],
    "translate": ["--direction", "--out"],
    "evaluator": [],
    "evaluator list": [],
    "evaluator train": ["--steps", "--out"],
    "push": ["--revision", "--private", "--message"],
    "pull": ["--revision", "--offline"],
    "hub": [],
    "hub ls": ["--json"],
    "import": ["--out", "--model", "--force"],
    "bench": [],
    "bench run": ["--out", "--models", "--seeds", "--jobs", "--executor"],
    "bench list": [],
    "bench compare": ["--json"],
    "tune": [],
    "tune run": ["--data", "--space", "--sampler", "--trials", "--metric", "--direction", "--storage", "--study",
                 "--pruner", "--eval-every", "--steps", "--set", "--seed", "--out"],
    "tune show": ["--storage", "--study", "--out"],
    "data": [],
    "data check": ["--json"],
    "demo": ["--data-root"],
    "plugins": [],
    "install": [],
    "uninstall": [],
}


def commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()) -> dict[tuple, click.Command]:
    """Every command and subcommand under ``group``, by its path of names."""
    found = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        found[(*prefix, name)] = command
        if isinstance(command, click.Group):
            found |= commands(command, click.Context(command, parent=ctx, info_name=name), (*prefix, name))
    return found


def test_help_lists_every_command_with_its_own_summary() -> None:
    out = genzoo("--help")
    assert out.returncode == 0, out.stderr
    listed = dict(re.findall(r"^  (\S+)\s{2,}(.+)$", out.stdout.split("Commands:\n", 1)[1], re.MULTILINE))
    assert sorted(listed) == sorted(name for name in COMMANDS if " " not in name)
    with click.Context(cli, info_name="genzoo") as ctx:
        for name, shown in listed.items():
            summary = cli.get_command(ctx, name).get_short_help_str(limit=1000)
            assert shown == summary or (shown.endswith("...") and summary.startswith(shown[:-3])), (name, shown)
            assert len(shown) >= min(len(summary), 40), f"{name}: the summary is cut to {shown!r}"
            # a whole first sentence: not cut at an abbreviation ("e.g.") with a bracket left open
            assert summary.endswith(".") and all(summary.count(a) == summary.count(b) for a, b in ("()", "[]")), \
                f"{name}: its one-line help {summary!r} is not a whole sentence"


def test_every_subcommand_help_shows_its_options() -> None:
    with click.Context(cli, info_name="genzoo") as ctx:
        found = commands(cli, ctx)
    assert sorted(" ".join(path) for path in found) == sorted(COMMANDS)
    for path, command in found.items():
        out = CliRunner().invoke(cli, [*path, "--help"], prog_name="genzoo", terminal_width=200)
        assert out.exit_code == 0, (path, out.output)
        assert f"genzoo {' '.join(path)}" in out.output
        options = {opt for p in command.params if isinstance(p, click.Option) and not p.hidden for opt in p.opts}
        assert set(COMMANDS[" ".join(path)]) <= options, f"{path}: documented options missing from the command"
        for option in options:
            shown = re.search(rf"(^|[\s,]){re.escape(option)}\b", out.output)
            assert shown, f"genzoo {' '.join(path)} --help does not show {option}"


def test_a_missing_catalog_file_is_one_line_even_for_help(tmp_path: Path) -> None:
    """--help assembles the zoo (plugins may add commands) before any command runs; its errors are one line too."""
    env = {**os.environ, "GENZOO_CATALOG": str(tmp_path / "missing.toml")}
    out = subprocess.run([sys.executable, "-m", "genzoo", "--help"], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    missing = tmp_path / "missing.toml"
    assert out.stderr.strip() == f"Error: catalog file {missing} (from GENZOO_CATALOG) does not exist."
