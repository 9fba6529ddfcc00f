"""Where a trained VAE's codes lie against its prior, and what its decoder draws from each.

A VAE samples by decoding z ~ N(0, I). If the codes its encoder gives real images (the
aggregate posterior) fill a different region, prior draws land where the decoder was never
trained and the grid shows it, however good the likelihood. This prints the aggregate
posterior's mean offset, the spread of its covariance and the KL per latent dimension on the
first n test images, and saves two grids from the same decoder: z from the prior, and z from a
full Gaussian fitted to the aggregate posterior (the "ex-post density estimation" of Ghosh et
al., 2020). Image-like grids from the second and not the first mean the decoder is fine and
the codes miss the prior.

    .venv/bin/python bench/vae_prior_gap.py RUN --data cifar10 --out bench/grids/vae-cifar10-prior-gap
"""

from __future__ import annotations

import argparse
import os

import torch

import genzoo
from genzoo.core.images import save_grid
from genzoo.zoo import get_zoo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a trained VAE's run folder (or any location genzoo.create_model takes)")
    p.add_argument("--data", default="cifar10")
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    p.add_argument("--n", type=int, default=2000, help="test images encoded")
    p.add_argument("--out", required=True, help="grid path prefix: OUT-prior.png and OUT-fitted.png")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    model = genzoo.create_model(args.run).eval()
    spec = get_zoo().dataset(args.data)
    test = genzoo.load_data(args.data, image_size=spec.image_size, channels=spec.channels, split="test",
                            root=args.data_root).images[:args.n].float() / 255
    with torch.no_grad():
        mu, logvar = (torch.cat(parts) for parts in zip(*(model.encode(x) for x in test.split(500))))
        centred = mu - mu.mean(0)
        cov = centred.T @ centred / len(mu) + torch.diag(logvar.exp().mean(0))
        eig = torch.linalg.eigvalsh(cov)
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)
        print(f"{args.run}: {mu.shape[1]} latent dims, {len(mu)} {args.data} test images")
        print(f"aggregate posterior: |mean| {mu.mean(0).norm():.3f} (prior: 0), covariance eigenvalues "
              f"{eig[0]:.3g} .. {eig[-1]:.3g}, median {eig.median():.3g} (prior: all 1)")
        print(f"KL per dimension, nats: total {kl.sum():.1f}, largest {kl.max():.2f}, "
              f"dimensions above 0.01: {(kl > 0.01).sum().item()}")
        g = torch.Generator().manual_seed(0)
        prior = torch.randn(64, mu.shape[1], generator=g)
        fitted = mu.mean(0) + prior @ torch.linalg.cholesky(cov).T
        for name, z in (("prior", prior), ("fitted", fitted)):
            save_grid(model.decode(z) * 2 - 1, f"{args.out}-{name}.png", nrow=8)
            print(f"wrote {args.out}-{name}.png")


if __name__ == "__main__":
    main()
