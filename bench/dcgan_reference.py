"""DCGAN through genzoo's recipe vs the pytorch/examples DCGAN training step, same compute.

Both train the same 28x28 networks (genzoo.core.gan, N(0, 0.02) init) on the same MNIST
batches for the same number of steps at the same batch size, with Adam(2e-4, (0.5, 0.999)).
The reference step is pytorch/examples' dcgan/main.py: BCELoss against real/fake label
tensors, one generator forward reused for both players, no EMA. genzoo's is the dcgan-mnist
recipe through the shared trainer (non-saturating BCE, fresh fakes per phase, EMA of the
generator from step 500), scored with the weights a user samples with (EMA) and the raw
ones. Both are judged by the zoo's LeNet-MNIST evaluator on the MNIST test split.

    python bench/dcgan_reference.py --data-root ../shared/data --steps 600 --batch 64 --n 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch import nn

import genzoo
from genzoo.core.data import BatchLoader
from genzoo.evaluation import training_evaluator
from genzoo.registry import get_zoo


def reference(images, args) -> genzoo.core.model.ZooModel:
    torch.manual_seed(args.seed)
    model = genzoo.create_model("dcgan-mnist")
    g, d = model.generator, model.discriminator
    loader = BatchLoader(images, get_zoo().model("dcgan-mnist").preprocessing, args.batch, args.seed, "cpu")
    criterion = nn.BCEWithLogitsLoss()  # the examples' Sigmoid + BCELoss, fused for stability
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(args.batch), torch.zeros(args.batch)
    for i in range(args.steps):
        real = loader.batch(i).images
        fake = g(torch.randn(args.batch, model.config.latent_dim))
        opt_d.zero_grad()
        (criterion(d(real), ones) + criterion(d(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        criterion(d(fake), ones).backward()
        opt_g.step()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    score = training_evaluator("mnist", metrics="fid,kid,pr", n=args.n, data_root=args.data_root)
    images = genzoo.load_data("mnist", image_size=28, channels=1, root=args.data_root)
    rows = []
    start = time.perf_counter()
    ref = reference(images, args)
    rows.append(("pytorch/examples step", time.perf_counter() - start, score(ref)))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        genzoo.train("dcgan-mnist", "mnist", steps=args.steps, out=f"{tmp}/run", data_root=args.data_root,
                     train={"batch_size": args.batch, "seed": args.seed, "sample_every": 0, "checkpoint_every": 0},
                     progress=False)
        seconds = time.perf_counter() - start
        rows.append(("genzoo dcgan-mnist (EMA weights)", seconds, score(genzoo.create_model(f"{tmp}/run"))))
        raw = genzoo.create_model(f"{tmp}/run", variant="raw")
        rows.append(("genzoo dcgan-mnist (raw weights)", seconds, score(raw)))
    print(f"dcgan-mnist, {args.steps} steps, batch {args.batch}, seed {args.seed}; n={args.n} vs MNIST test, "
          f"lenet-mnist features; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| training | wall s | FID ↓ | KID ↓ | precision ↑ | recall ↑ |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, s in rows:
        fid, kid, prec, rec = s["fid"], s["kid"], s["precision"], s["recall"]
        print(f"| {name} | {seconds:.0f} | {fid:.1f} | {kid:.4g} | {prec:.3f} | {rec:.3f} |")


if __name__ == "__main__":
    main()
