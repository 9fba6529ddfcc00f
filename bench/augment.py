"""Does cGAN-generated data help a classifier trained on little real data?

Protocol (honest: the GAN sees only the reduced set the classifier sees):
1. Take ``--per-class`` real MNIST training images per class (default 50, i.e. 500 images).
2. Train cgan-mnist on exactly those images (written to a class-per-folder image folder and
   trained through the public genzoo.train API), then draw ``--synthetic`` labelled samples
   (classes cycled, EMA generator).
3. Train the same small LeNet-style classifier for the same number of steps on
   (a) the real images only, (b) batches with a ``--shares`` fraction of synthetic images (half by
   default), (c) synthetic only
   (a "classification accuracy score" of the generator); report MNIST test accuracy on all
   10,000 test images, mean and spread over ``--seeds`` classifier seeds.

    .venv/bin/python bench/augment.py --data-root /work/shared/data [--per-class 50] [--gan-steps 800]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import genzoo
from genzoo.core.data.transforms import normalize
from genzoo.core.images import save_grid, save_image

HERE = Path(__file__).resolve().parent


class LeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def reduced_set(data_root: str, per_class: int):
    full = genzoo.load_data("mnist", image_size=28, channels=1, root=data_root)
    idx = torch.cat([torch.nonzero(full.labels == k).flatten()[:per_class] for k in range(10)])
    return full.images[idx], full.labels[idx]


def write_folder(images: torch.Tensor, labels: torch.Tensor, root: Path) -> Path:
    for i, (x, y) in enumerate(zip(images, labels)):
        save_image(x, root / str(int(y)) / f"{i:05d}.png")
    return root


def train_classifier(sources: list[tuple[torch.Tensor, torch.Tensor, float]], steps: int, seed: int,
                     batch: int = 64):
    """``steps`` Adam steps; each batch draws its share of images from each (images, labels, share)
    source (images in [-1, 1])."""
    torch.manual_seed(seed)
    net = LeNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    counts = [round(batch * share) for *_, share in sources]
    for _ in range(steps):
        xs, ys = [], []
        for (x, y, _), k in zip(sources, counts):
            i = torch.randint(len(x), (k,), generator=g)
            xs.append(x[i])
            ys.append(y[i])
        loss = F.cross_entropy(net(torch.cat(xs)), torch.cat(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    pred = torch.cat([net(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default="/work/shared/data")
    p.add_argument("--per-class", type=int, default=50)
    p.add_argument("--gan-steps", type=int, default=800)
    p.add_argument("--gan-set", nargs="*", default=["g_width=32", "d_width=32"],
                   help="cgan-mnist config overrides key=value")
    p.add_argument("--synthetic", type=int, default=5000)
    p.add_argument("--shares", type=float, nargs="+", default=[0.5],
                   help="fractions of each classifier batch drawn from the cGAN samples when mixing")
    p.add_argument("--clf-steps", type=int, default=600)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    real_x, real_y = reduced_set(args.data_root, args.per_class)
    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root)
    test_x = normalize(test.images, "minus_one_one")
    gan_cfg = dict(kv.split("=", 1) for kv in args.gan_set)
    with tempfile.TemporaryDirectory(prefix="genzoo-augment-") as tmp:
        folder = write_folder(real_x, real_y, Path(tmp) / "reduced")
        t = time.perf_counter()
        genzoo.train("cgan-mnist", str(folder), steps=args.gan_steps, out=Path(tmp) / "run", config=gan_cfg,
                     train={"sample_every": 0, "checkpoint_every": 0, "batch_size": 64}, progress=False)
        gan_s = time.perf_counter() - t
        gan = genzoo.create_model(str(Path(tmp) / "run"))
    syn_y = torch.arange(args.synthetic) % 10
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        syn_x = torch.cat([gan.sample(500, labels=syn_y[i:i + 500], generator=g)
                           for i in range(0, args.synthetic, 500)])
    save_grid(syn_x[torch.argsort(syn_y[:100], stable=True)], HERE / "grids" / "augment-cgan-samples.png", nrow=10)
    real_n = normalize(real_x, "minus_one_one")
    settings = {"real only": [(real_n, real_y, 1.0)]}
    for share in args.shares:
        settings[f"real + cGAN ({share:.0%} of each batch)"] = [(real_n, real_y, 1 - share), (syn_x, syn_y, share)]
    settings["cGAN only"] = [(syn_x, syn_y, 1.0)]
    results = {}
    for name, sources in settings.items():
        accs = [accuracy(train_classifier(sources, args.clf_steps, seed), test_x, test.labels)
                for seed in range(args.seeds)]
        results[name] = accs
        print(f"{name}: {statistics.mean(accs):.4f} ({', '.join(f'{a:.4f}' for a in accs)})", flush=True)
    total = time.perf_counter() - t0
    rows = ["| classifier trained on | test accuracy, mean | min..max over seeds |", "|---|---:|---:|"]
    rows += [f"| {k} | {statistics.mean(v):.4f} | {min(v):.4f}..{max(v):.4f} |" for k, v in results.items()]
    print("\n".join(rows))
    if args.no_record:
        return
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    section = "\n".join([
        "", "## Synthetic data augmentation with cGAN samples (bench/augment.py)", "",
        f"Command: `.venv/bin/python bench/augment.py {shlex.join(argv)}`", "",
        f"Date: {date}. Machine: 2-core CPU shared with other jobs, torch threads={args.threads}; "
        f"Python {platform.python_version()}, torch {torch.__version__}. Total {total:.0f} s "
        f"(cGAN training {gan_s:.0f} s).", "",
        f"Protocol: {args.per_class} real training images per class ({len(real_x)} in all, the first of each "
        f"class in the MNIST training file). cgan-mnist ({', '.join(args.gan_set) or 'defaults'}) trained on "
        f"those {len(real_x)} images only for {args.gan_steps} steps (batch 64), then {args.synthetic} samples "
        f"with classes cycled (EMA generator). LeNet-style classifier (2 conv + 2 fc, dropout 0.3), Adam 1e-3, "
        f"{args.clf_steps} steps of batch 64 (the stated share of each batch from the cGAN samples when mixing), "
        "no other augmentation; "
        f"accuracy on all 10,000 MNIST test images; {args.seeds} classifier seeds. Samples: "
        "grids/augment-cgan-samples.png (one row per class).", "",
        *rows, "",
    ])
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")


if __name__ == "__main__":
    main()
