"""Wall time of `genzoo list` (and info, --help) against `python -c "import torch"`.

Listing must not import torch, so it should cost a fraction of a torch import. Each command
runs in a fresh interpreter, alternating, and the median of the repeats is reported.

    python bench/list_speed.py --repeats 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "genzoo list": [sys.executable, "-m", "genzoo.cli", "list"],
    "genzoo info dcgan-mnist": [sys.executable, "-m", "genzoo.cli", "info", "dcgan-mnist"],
    "genzoo --help": [sys.executable, "-m", "genzoo.cli", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, cmd in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    torch_median = statistics.median(times["python -c 'import torch'"])
    print(f"{args.repeats} alternating runs each, fresh interpreter per run")
    print("| command | median s | min s | vs import torch |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| `{name}` | {med:.3f} | {min(values):.3f} | {med / torch_median:.2f} |")


if __name__ == "__main__":
    main()
