"""Pull-and-first-sample time of a pretrained model from a hub vs building it from scratch.

Every measurement runs the same command in a fresh Python process,

    python -c "import genzoo; m = genzoo.create_model(NAME); m.sample(64)"

with NAME = ``dcgan-mnist`` (random init, nothing to download) or a hub location of the same
model's pretrained folder: ``file:///.../team/dcgan-mnist`` (directory hub) or
``hf://tester/dcgan-mnist`` served by tests/hub_server.py on localhost (huggingface_hub with
HF_ENDPOINT pointing at it). "cold" starts from an empty cache each repeat; "cached" after one
pull (still online: the hub is asked what main points at); "offline" with GENZOO_OFFLINE=1 and
HF_HUB_OFFLINE=1. The cases take turns within each repeat. Reported: median over repeats of
the whole process (wall) and of the create_model + first sample(64) part timed inside it.

    .venv/bin/python bench/hub_pull.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
import torch, genzoo
t1 = time.perf_counter()
model = genzoo.create_model(sys.argv[1])
t2 = time.perf_counter()
with torch.no_grad():
    images = model.sample(64, generator=torch.Generator().manual_seed(0))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "create": t2 - t1, "sample": t3 - t2, "shape": list(images.shape)}))
"""


def run_once(name: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", SNIPPET, name], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    inside = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall": wall, "create_sample": inside["create"] + inside["sample"], **inside}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="", help="also write the raw numbers here")
    args = parser.parse_args()

    from hubtools import TOKEN, hub_server

    import genzoo
    from genzoo.core.pretrained import save_pretrained

    work = Path(tempfile.mkdtemp(prefix="genzoo-bench-hub-"))
    try:
        model = genzoo.create_model("dcgan-mnist").eval()  # the catalog's full-size config
        save_pretrained(model, work / "pretrained")
        size = sum(p.stat().st_size for p in (work / "pretrained").iterdir())
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GENZOO_"))}
        base.update({"HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_TOKEN": TOKEN,
                     "GENZOO_OFFLINE": "0", "HF_HUB_OFFLINE": "0"})
        with hub_server(work / "server") as url:
            base["HF_ENDPOINT"] = url
            file_loc = f"file://{work}/hub/team/dcgan-mnist"
            hf_loc = "hf://tester/dcgan-mnist"
            for loc in (file_loc, hf_loc):
                push = subprocess.run([sys.executable, "-m", "genzoo.cli", "push", str(work / "pretrained"), loc],
                                      env=base, capture_output=True, text=True)
                if push.returncode != 0:
                    raise SystemExit(push.stderr)
            cases = [("scratch", "dcgan-mnist", "none")]
            for label, loc in (("file://", file_loc), ("hf:// (local server)", hf_loc)):
                cases += [(f"{label} cold", loc, "cold"), (f"{label} cached", loc, "cached"),
                          (f"{label} offline", loc, "offline")]
            runs: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in cases}
            # Round-robin over the cases, so that load from other jobs on a shared machine hits all alike.
            for i in range(args.repeats):
                for label, name, mode in cases:
                    cache = work / "cache" / f"{label.split()[0].strip(':/')}-{mode}-{i if mode == 'cold' else 0}"
                    env = {**base, "GENZOO_CACHE": str(cache / "genzoo"), "HF_HOME": str(cache / "hf")}
                    if mode in ("cached", "offline") and not cache.exists():
                        run_once(name, env)  # warm the cache once
                    if mode == "offline":
                        env.update({"GENZOO_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
                    runs[label].append(run_once(name, env))
                    print(f"repeat {i}: {label:30s} wall {runs[label][-1]['wall']:.2f}s  create+sample "
                          f"{runs[label][-1]['create_sample'] * 1000:.0f} ms", flush=True)
            results = {label: {k: statistics.median(r[k] for r in rs) for k in ("wall", "create_sample", "import")}
                       for label, rs in runs.items()}
            for label in results:
                results[label]["runs"] = runs[label]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    import torch

    print()
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"`{' '.join([Path(sys.executable).name, *sys.argv])}` — {when}, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}; "
          f"dcgan-mnist pretrained folder {size / 1e6:.1f} MB; median of {args.repeats}.")
    print()
    print("| how the model is made | process wall (s) | create_model + sample(64) (ms) | vs scratch |")
    print("|---|---|---|---|")
    ref = results["scratch"]["create_sample"]
    for label, r in results.items():
        print(f"| {label} | {r['wall']:.2f} | {r['create_sample'] * 1000:.0f} | {r['create_sample'] / ref:.1f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
