"""``genzoo eval``: score a model, run, image folder or .npz against real data, with protocols."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genzoo.core.errors import GenzooError
from genzoo.core.rundir import is_model_folder


@click.command("eval")
@click.argument("source")
@click.option("--data", default="mnist", show_default=True, help="Real data: a dataset name or a folder.")
@click.option("--split", default="test", show_default=True, help="Real split to compare with.")
@click.option("--metrics", default="fid,kid,pr,dc", show_default=True,
              help="Comma-separated: fid, kid, pr, dc, is, psnr, ssim, bpd.")
@click.option("--n", "n", type=int, default=10_000, show_default=True, help="Images per side.")
@click.option("--features", default=None,
              help="Extractor: lenet-mnist, resnet-cifar10 (weights shipped with genzoo), local:NAME (one you trained "
                   "with `genzoo evaluator train`), fid-inception-v3, timm:ARCH or an evaluator folder "
                   "(default: the zoo evaluator for MNIST-family data and CIFAR-10, else fid-inception-v3).")
@click.option("--features-weights", default=None, help="Local weights file for the extractor.")
@click.option("--data-root", default=None, help="Where named datasets live.")
@click.option("--seed", type=int, default=2020, show_default=True,
              help="Seed of the evaluation: the generated images' noise and the real and KID subsets drawn (recorded "
                   "in the score's protocol; a trained model's own training seed is its train.seed).")
@click.option("--kid-subsets", type=int, default=100, show_default=True)
@click.option("--kid-subset-size", type=int, default=1000, show_default=True)
@click.option("--batch-size", type=int, default=200, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--no-cache", is_flag=True, help="Recompute the real statistics instead of using the cache.")
@click.option("--out", default=None, help="Write the scores and protocols as JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--card", is_flag=True,
              help="Also record the scores in SOURCE's model card (a run or pretrained folder).")
def command(source: str, data: str, split: str, metrics: str, n: int, features: str | None,
            features_weights: str | None, data_root: str | None, seed: int, kid_subsets: int,
            kid_subset_size: int, batch_size: int, device: str, no_cache: bool, out: str | None,
            as_json: bool, card: bool) -> None:
    """Evaluate SOURCE (model NAME, RUN_DIR, pretrained folder, IMAGE_DIR or .npz) against real data."""
    if card and not is_model_folder(source):
        raise GenzooError(f"--card needs a run dir or pretrained folder as SOURCE; {source} is neither.")
    if kid_subsets < 1 or kid_subset_size < 2:
        raise GenzooError("--kid-subsets must be >= 1 and --kid-subset-size >= 2.")
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..evaluation.card import record_in_card
    from ..evaluation.evaluate import evaluate

    result = evaluate(source, data, split=split, metrics=metrics, n=n, features=features,
                      features_weights=features_weights, data_root=data_root, seed=seed, kid_subsets=kid_subsets,
                      kid_subset_size=kid_subset_size, batch_size=batch_size, device=device,
                      use_cache=not no_cache, out=out)
    if card:
        click.echo(f"recorded in the model card of {record_in_card(source, result)}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table("metric", "value", "± std", "extractor", "n real/fake", "protocol", box=None, header_style="bold",
                  title=f"{source} vs {data} [{split}]", title_justify="left")
    for s in result.scores:
        p = s.protocol
        extractor = f"{p.extractor} ({p.extractor_sha256[:8]})" if p.extractor else "-"
        params = ", ".join(f"{k}={v}" for k, v in p.params)
        detail = "; ".join(x for x in (p.channels, f"{p.input_size}px" if p.input_size else "", params) if x)
        std = f"{s.extra['std']:.4g}" if "std" in s.extra else ""
        table.add_row(s.name, f"{s.value:.5g}", std, extractor, f"{p.n_real}/{p.n_fake}", detail)
    for name, reason in result.na.items():
        table.add_row(name, f"[dim]n/a ({escape(reason)})[/]", "", "", "", "")
    con = Console()
    con.print(table)
    for note in result.notes:
        con.print(f"[dim]note:[/] {note}")
    if out:
        con.print(f"wrote {out}")
