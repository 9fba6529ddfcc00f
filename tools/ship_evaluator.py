"""Copy a trained evaluator folder into the package (genzoo/core/metrics/extractors/weights/) and record it
in the manifest: what `--features NAME` means on every install from then on.

    .venv/bin/python tools/ship_evaluator.py FOLDER --command "genzoo evaluator train mnist ..." \\
        --data "MNIST train (60k) / test (10k), original IDX files" --date 2026-11-29 [--float16]

``--float16`` ships the weights in half precision (half the bytes); the test accuracy recorded is then
re-measured on the rounded network, which is the one every install runs, and the float32 figure is kept
beside it in the record.

The manifest entry holds the weights file's sha256 (checked on every load), the tensors' sha256 (what
score protocols name), the exact command that produced the weights, their data and test accuracy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import genzoo  # noqa: E402
from genzoo.core.atomic import atomic_write_text, sha256_file  # noqa: E402
from genzoo.core.metrics.extractors.evaluator import (  # noqa: E402
    CARD,
    CONFIG,
    MANIFEST,
    SHIPPED_DIR,
    WEIGHTS,
    half_precision_weights,
    load_evaluator,
    save_evaluator,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="an evaluator folder written by `genzoo evaluator train --out`")
    ap.add_argument("--command", required=True, help="the exact command that trained it")
    ap.add_argument("--data", required=True, help="which data it was trained and tested on")
    ap.add_argument("--date", required=True)
    ap.add_argument("--notes", default="", help="anything else a reader should know (time, machine)")
    ap.add_argument("--float16", action="store_true", help="ship the weights in half precision")
    ap.add_argument("--data-root", default=None, help="where the test split is (for --float16's accuracy)")
    args = ap.parse_args()
    cfg = json.loads((args.folder / CONFIG).read_text(encoding="utf-8"))
    name = cfg["name"]
    target = SHIPPED_DIR / name
    if args.float16:
        test = genzoo.load_data(cfg["dataset"], image_size=cfg["image_size"], channels=cfg["channels"], split="test",
                                root=args.data_root)
        model = load_evaluator(str(args.folder))
        acc = half_precision_weights(model, test.images, test.labels)
        record = {**cfg["train"], "test_accuracy": acc, "test_accuracy_float32_weights": cfg["test_accuracy"],
                  "weights_dtype": "float16"}
        save_evaluator(model, target, dataset=cfg["dataset"], classes=tuple(cfg["classes"]), record=record,
                       data_origin=cfg.get("data_origin", ""), float16=True)
        cfg = json.loads((target / CONFIG).read_text(encoding="utf-8"))
    else:
        target.mkdir(parents=True, exist_ok=True)
        for f in (CONFIG, WEIGHTS, CARD):
            shutil.copyfile(args.folder / f, target / f)
    manifest_path = SHIPPED_DIR / MANIFEST
    entries = json.loads(manifest_path.read_text())["evaluators"] if manifest_path.is_file() else []
    entry = {"name": name, "folder": name, "file": f"{name}/{WEIGHTS}", "sha256": sha256_file(target / WEIGHTS),
             "weights_sha256": cfg["weights_sha256"], "arch": cfg["arch"], "width": cfg.get("width"),
             "dataset": cfg["dataset"], "data": args.data, "test_accuracy": cfg["test_accuracy"],
             "test_images": cfg["train"]["test_images"], "train_seconds": cfg["train"]["train_seconds"],
             "command": args.command, "date": args.date, "genzoo_version": cfg.get("genzoo_version", ""),
             "notes": args.notes}
    entries = [e for e in entries if e["name"] != name] + [entry]
    atomic_write_text(manifest_path, json.dumps({"format": 1, "evaluators": sorted(entries, key=lambda e: e["name"])},
                                                indent=2) + "\n")
    loaded = load_evaluator(name)  # what users get: resolves to the shipped copy and checks the sha256
    assert loaded.weights_sha256 == cfg["weights_sha256"] and loaded.shipped, name
    print(f"shipped {name}: {target} (test accuracy {cfg['test_accuracy']:.4f}, sha256 {entry['sha256'][:16]})")


if __name__ == "__main__":
    main()
