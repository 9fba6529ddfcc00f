"""The ``genzoo`` command line: a thin face over the Python API.

Every command turns a GenzooError into one line on stderr and a non-zero exit, never a
traceback. Listing commands import no torch; commands that need it import it inside.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from genzoo.core.errors import DataError, GenzooError

from . import api
from .registry import get_zoo


class ZooGroup(click.Group):
    """Adds plugin commands on first use and reports GenzooErrors as one clean line."""

    def _plugin_commands(self) -> None:
        if getattr(self, "_loaded", False):
            return
        self._loaded = True
        zoo = get_zoo()
        if zoo.manager is not None:
            zoo.manager.call("register_commands", lambda info: self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None:
            self._plugin_commands()
            cmd = super().get_command(ctx, name)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GenzooError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; the last checkpoint is kept (resume with --resume RUN_DIR).", err=True)
            sys.exit(130)


def _warn_broken(ctx: click.Context) -> None:
    if ctx.invoked_subcommand != "plugins":
        get_zoo().manager.warn_failures()


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genzoo")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """genzoo: train, sample, evaluate and benchmark generative image models."""
    if ctx.invoked_subcommand and ctx.invoked_subcommand not in ("install", "uninstall"):
        _warn_broken(ctx)


def _console() -> Any:
    from rich.console import Console

    return Console()


@cli.command("list")
@click.argument("pattern", default="*")
@click.option("--family", default="", help="Only this family.")
@click.option("--plugin", default="", help="Only models from this plugin.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(pattern: str, family: str, plugin: str, as_json: bool) -> None:
    """List models (fnmatch PATTERN, e.g. 'dcgan*')."""
    zoo = get_zoo()
    names = zoo.list_models(pattern, family=family, plugin=plugin)
    if as_json:
        click.echo(json.dumps([{"name": n, "family": zoo.models[n].family, "plugin": zoo.models[n].plugin,
                                "capabilities": list(zoo.models[n].capabilities)} for n in names], indent=2))
        return
    if not names:
        raise GenzooError(f"no model matches {pattern!r}; `genzoo list` shows all {len(zoo.models)}.")
    from rich.table import Table

    table = Table("name", "family", "capabilities", "plugin", "description", box=None, header_style="bold")
    for n in names:
        e = zoo.models[n]
        table.add_row(n, e.family, ",".join(e.capabilities), e.plugin, e.description)
    _console().print(table)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(name: str, as_json: bool) -> None:
    """Show a model's family, plugin, capabilities, config, preprocessing and recipe."""
    data = api.model_info(name)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{data['name']}[/]  family [cyan]{data['family']}[/]  plugin [cyan]{data['plugin']}[/]"
              + (f" ({data['distribution']})" if data["distribution"] else "") + f"  from {data['source']}")
    if data["description"]:
        con.print(data["description"])
    con.print(f"capabilities: {', '.join(data['capabilities'])}   default data: {data['data']}"
              + (f"   hub: {data['hub']}" if data["hub"] else ""))
    for section in ("config", "preprocessing", "train"):
        table = Table("field", "type", "default", "value", "help", title=section, box=None,
                      header_style="bold", title_justify="left")
        for f in data[section]:
            changed = f["value"] != f["default"]
            value = f"[yellow]{f['value']}[/]" if changed else str(f["value"])
            table.add_row(f["name"], f["type"], str(f["default"]), value, f["help"])
        con.print(table)


@cli.command()
@click.argument("name", required=False)
@click.option("--data", "data", default=None, help="mnist, fashion-mnist, cifar10, digits, a folder, or unpaired:A,B.")
@click.option("--data-root", default=None, help="Where named datasets live ($GENZOO_DATA, ~/.cache/genzoo/data).")
@click.option("--steps", type=int, default=None, help="Optimisation steps.")
@click.option("--epochs", type=int, default=None, help="Passes over the data (overrides --steps).")
@click.option("--out", default=None, help="Run directory (default runs/NAME).")
@click.option("--resume", default=None, help="Continue the run in this directory.")
@click.option("--set", "assignments", multiple=True, help="Override a field: key=value, train.key=value, ...")
@click.option("--eval-every", type=int, default=None,
              help="Score the model every N steps (logged as eval.<metric>) and at the end; the final scores go "
                   "into pretrained/config.json and the model card with their protocol (as `eval --card`).")
@click.option("--eval-metrics", default="fid", show_default=True, help="Metrics for --eval-every, e.g. fid,kid.")
@click.option("--eval-n", type=int, default=2000, show_default=True,
              help="Samples per evaluation (the protocol's n_fake and n_real; real: the data's test split).")
@click.option("--eval-features", default=None, help="Feature extractor (default: the data's zoo evaluator).")
def train(name: str | None, data: str | None, data_root: str | None, steps: int | None, epochs: int | None,
          out: str | None, resume: str | None, assignments: tuple[str, ...], eval_every: int | None,
          eval_metrics: str, eval_n: int, eval_features: str | None) -> None:
    """Train NAME on --data (or continue --resume RUN_DIR)."""
    from genzoo.core.config import parse_assignments

    if not name and not resume:
        raise GenzooError("give a model NAME (see `genzoo list`) or --resume RUN_DIR.")
    overrides = {"model": {}, "train": {}, "preprocessing": {}}
    if assignments:
        run_model = name or json.loads((Path(resume) / api.RUN_FILE).read_text())["model"]
        overrides = api.split_overrides(get_zoo().model(run_model), parse_assignments(assignments))
        if resume and (overrides["model"] or overrides["preprocessing"]):
            raise GenzooError("--resume can only change train.* fields; model and preprocessing are fixed by the run.")
    if eval_every is not None:
        overrides["train"]["eval_every"] = eval_every
    result = api.train(name, data, steps=steps, epochs=epochs, out=out, resume=resume, config=overrides["model"],
                       train=overrides["train"], preprocessing=overrides["preprocessing"], data_root=data_root,
                       eval_metrics=eval_metrics, eval_n=eval_n, eval_features=eval_features)
    losses = "  ".join(f"{k}={v:.4g}" for k, v in result.logs.items() if k.endswith("loss"))
    click.echo(f"trained {result.step} steps{f' ({result.stopped})' if result.stopped else ''}: {losses}")
    if result.scores:
        n = result.scores[0].protocol.n_fake
        scores = "  ".join(f"{s.name}={s.value:.4g}" for s in result.scores)
        click.echo(f"final scores (n={n}, recorded in the model card): {scores}")
    click.echo(f"run: {result.run_dir}   weights: {result.pretrained_dir}")


@cli.command()
@click.argument("name")
@click.option("--n", "n", type=int, default=64, show_default=True, help="Number of images.")
@click.option("--out", default="samples.png", show_default=True, help="Grid PNG to write.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--label", type=int, default=None, help="Class to sample (conditional models).")
@click.option("--per-class", "per_class", type=int, default=None,
              help="Conditional models: a grid with one row per class, this many images each (replaces --n).")
@click.option("--nrow", type=int, default=None, help="Images per row.")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
def sample(name: str, n: int, out: str, seed: int, label: int | None, per_class: int | None, nrow: int | None,
           variant: str) -> None:
    """Sample a grid from a run dir, a pretrained folder or a registered NAME."""
    import torch

    from genzoo.core.images import save_grid

    if n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    if per_class is not None and label is not None:
        raise GenzooError("--per-class samples every class; drop --label (or drop --per-class).")
    if per_class is not None and per_class < 1:
        raise GenzooError(f"--per-class must be at least 1 (got {per_class}).")
    model = api.create_model(name, variant=variant)
    if name in get_zoo().models:
        click.echo(f"note: {name} is untrained (no run dir or pretrained folder given); samples are noise.", err=True)
    labels = None
    if per_class is not None:
        model.require("conditional")
        classes = getattr(model.config, "num_classes", 0)
        if not classes:
            raise GenzooError(f"{model.family} is conditional but its config has no num_classes; use --label.")
        labels = torch.arange(classes).repeat_interleave(per_class)
        n, nrow = len(labels), per_class
    elif label is not None:
        model.require("conditional")
        classes = getattr(model.config, "num_classes", 0)
        if classes and not 0 <= label < classes:
            raise GenzooError(f"--label {label} is out of range; {model.family} has classes 0..{classes - 1}.")
        labels = torch.full((n,), label, dtype=torch.long)
    model.require("sample")
    model.eval()
    with torch.no_grad():
        images = model.sample(n, labels=labels, generator=torch.Generator().manual_seed(seed))
    what = f"{classes} classes x {per_class}" if per_class is not None else f"{n} images"
    click.echo(f"wrote {save_grid(images, out, nrow)} ({what})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List plugins: distribution, version, what each registers, and any errors."""
    zoo = get_zoo()
    if as_json:
        click.echo(json.dumps([vars(p) for p in zoo.plugins.values()], indent=2))
        return
    from rich.table import Table

    table = Table("plugin", "distribution", "version", "registers", "status", box=None, header_style="bold")
    for p in zoo.plugins.values():
        reg = "; ".join(f"{k}: {', '.join(v)}" for k, v in p.registered.items())
        status = "[green]ok[/]" if p.ok else "[red]" + " | ".join(p.errors) + "[/]"
        table.add_row(p.name, p.distribution, p.version, reg, status)
    con = _console()
    con.print(table)
    for note in zoo.catalog_notes:
        con.print(f"[yellow]catalog:[/] {note}")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    click.echo(" ".join(cmd), err=True)
    if subprocess.call(cmd) != 0:
        raise GenzooError(f"pip {args[0]} failed (see pip's output above).")


@cli.command()
@click.argument("target")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade if already installed.")
@click.option("--editable", "-e", is_flag=True, help="Editable install of a local path.")
def install(target: str, upgrade: bool, editable: bool) -> None:
    """pip-install a plugin (a PyPI NAME, a local PATH or a URL) into this environment."""
    _pip("install", *(["-U"] if upgrade else []), *(["-e"] if editable else []), target)


@cli.command()
@click.argument("name")
def uninstall(name: str) -> None:
    """pip-uninstall a plugin distribution from this environment."""
    if name.lower() == "genzoo":
        raise GenzooError("refusing to uninstall genzoo itself from inside genzoo; use pip.")
    _pip("uninstall", "-y", name)


@cli.group()
def data() -> None:
    """Inspect data sources."""


@data.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def data_check(path: Path, as_json: bool) -> None:
    """Scan an image folder for corrupt, truncated, empty, non-image, odd-mode and duplicate files."""
    from genzoo.core.data.clean import scan_folder

    if not path.is_dir():
        raise GenzooError(f"{path} is not a folder; `genzoo data check` scans an image folder.")
    report = scan_folder(path)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.format())


@cli.command()
@click.option("--minutes", type=float, default=2.0, show_default=True, help="Training budget.")
@click.option("--data-root", default=None, help="Where MNIST lives (default $GENZOO_DATA or ~/.cache/genzoo/data).")
@click.option("--out", default="runs/demo", show_default=True, help="Run directory (runs/demo-2, ... if taken).")
def demo(minutes: float, data_root: str | None, out: str) -> None:
    """Train DCGAN on MNIST for a few minutes, then write a sample grid."""
    import torch

    from genzoo.core.images import save_grid

    out_dir, n = Path(out), 1
    while out_dir.exists():  # never replace an earlier run: take the next free name
        n += 1
        out_dir = Path(f"{out}-{n}")
    # Batch 64 doubles the updates a short CPU budget buys; DCGAN needs several hundred to draw digits.
    budget = {"max_minutes": minutes, "steps": 1_000_000, "batch_size": 64, "sample_every": 0, "checkpoint_every": 0}
    click.echo(f"training dcgan-mnist on MNIST for {minutes:g} minutes ...")
    try:
        result = api.train("dcgan-mnist", "mnist", out=out_dir, data_root=data_root, train=budget)
    except DataError as exc:  # raised while loading, before the run dir is created
        click.echo(f"MNIST is not available: {exc}\nFalling back to the digits set bundled with scikit-learn.")
        result = api.train("dcgan-digits", "digits", out=out_dir, data_root=data_root, train=budget)
    model = api.create_model(str(out_dir))
    with torch.no_grad():
        grid = save_grid(model.sample(64, generator=torch.Generator().manual_seed(0)), out_dir / "demo-samples.png")
    click.echo(f"trained {result.step} steps in {minutes:g} minutes; samples: {grid.resolve()}")


def _add_command_modules() -> None:
    """Commands that belong to one application (score, denoise, translate, eval, ...) live in
    their own ``registry/cmd_*.py`` file, each exposing ``command``; they import only click here."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if mod.name.startswith("cmd_"):
            cli.add_command(importlib.import_module(f"genzoo.{mod.name}").command)


_add_command_modules()


def main() -> None:
    cli(prog_name="genzoo")


if __name__ == "__main__":
    main()
