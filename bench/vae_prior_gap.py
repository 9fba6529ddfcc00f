"""Where a trained VAE's codes lie against its prior, and what its decoder draws from each.

A VAE samples by decoding z ~ N(0, I). If the codes its encoder gives real images (the
aggregate posterior) fill a different region, prior draws land where the decoder was never
trained and the grid shows it, however good the likelihood. This prints the aggregate
posterior's mean offset, the spread of its covariance and the KL per latent dimension on the
first n test images, and saves two grids from the same decoder: z from the prior, and z from a
full Gaussian fitted to the aggregate posterior (the "ex-post density estimation" of Ghosh et
al., 2020). Image-like grids from the second and not the first mean the decoder is fine and
the codes miss the prior.

With ``--score N`` it then scores N samples from each of the two priors as the suites do (the
data's shipped evaluator against its test split), and the test ELBO in bits/dim under each prior
(one posterior draw per image, the same draws for both; the VAE's prior="fitted" in one table).
``--fit-split train`` fits the Gaussian to every training image's code instead, as the recipe's
fitted prior does (with its running window), so the test split scores a prior it never saw.

    .venv/bin/python bench/vae_prior_gap.py RUN --data cifar10 --out bench/grids/vae-cifar10-prior-gap
    .venv/bin/python bench/vae_prior_gap.py RUN --data cifar10 --fit-split train --score 10000 --out /tmp/gap
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

import torch

import genzoo
from genzoo.core.images import save_grid
from genzoo.evaluation.during_training import training_evaluator
from genzoo.plugins.vae.model import VAE, gaussian_kl
from genzoo.zoo import get_zoo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a trained VAE's run folder (or any location genzoo.create_model takes)")
    p.add_argument("--data", default="cifar10")
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    p.add_argument("--n", type=int, default=2000, help="test images encoded (and fitted to, by default)")
    p.add_argument("--fit-split", choices=("test", "train"), default="test",
                   help="fit the Gaussian to the n test images' codes or to every training image's")
    p.add_argument("--score", type=int, default=0, metavar="N",
                   help="also score N samples from each prior (FID, KID, P/R, D/C) and the n test images' ELBO")
    p.add_argument("--out", required=True, help="grid path prefix: OUT-prior.png and OUT-fitted.png")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    model = genzoo.create_model(args.run).eval()
    spec = get_zoo().dataset(args.data)
    def load(split: str) -> torch.Tensor:
        return genzoo.load_data(args.data, image_size=spec.image_size, channels=spec.channels, split=split,
                                root=args.data_root).images.float() / 255

    test = load("test")[:args.n]
    fit_to = test if args.fit_split == "test" else load("train")
    priors = {"prior": with_prior(model, "standard"), "fitted": with_prior(model, "fitted")}
    with torch.no_grad():
        mu, logvar = (torch.cat(parts) for parts in zip(*(model.encode(x) for x in fit_to.split(500))))
        # One call from zeroed moments weighs every code equally: the exact aggregate posterior.
        priors["fitted"].track_codes(mu, logvar)
        mean, tril = priors["fitted"].fitted_prior()
        eig = torch.linalg.eigvalsh((tril @ tril.T).double())
        kl = gaussian_kl(mu.unsqueeze(-1), logvar.unsqueeze(-1)).mean(0)  # per latent dimension
        print(f"{args.run}: {mu.shape[1]} latent dims, {len(mu)} {args.data} {args.fit_split} images")
        print(f"aggregate posterior: |mean| {mean.norm():.3f} (prior: 0), covariance eigenvalues "
              f"{eig[0]:.3g} .. {eig[-1]:.3g}, median {eig.median():.3g} (prior: all 1)")
        print(f"KL per dimension, nats: total {kl.sum():.1f}, largest {kl.max():.2f}, "
              f"dimensions above 0.01: {(kl > 0.01).sum().item()}")
        for name, vae in priors.items():  # the same standard-normal draws under both priors
            save_grid(vae.sample(64, generator=torch.Generator().manual_seed(0)), f"{args.out}-{name}.png", nrow=8)
            print(f"wrote {args.out}-{name}.png")
    if args.score:
        score(priors, test, args)


def with_prior(model: VAE, prior: str) -> VAE:
    """The same encoder and decoder under another p(z) (a fitted one starts with empty moments)."""
    twin = type(model)(dataclasses.replace(model.config, prior=prior)).eval()
    weights = {k: v for k, v in model.state_dict().items() if not k.startswith("prior_")}
    missing, unexpected = twin.load_state_dict(weights, strict=False)
    if unexpected or any(not k.startswith("prior_") for k in missing):
        raise RuntimeError(f"{prior} twin does not match the model: missing {missing}, unexpected {unexpected}")
    twin.meta = model.meta
    return twin


def score(priors: dict[str, VAE], test: torch.Tensor, args: argparse.Namespace) -> None:
    """A markdown row per prior: test -ELBO bits/dim (same posterior draws for both) and the sample metrics."""
    evaluate = training_evaluator(args.data, metrics="fid,kid,pr,dc", n=args.score, data_root=args.data_root)
    model = priors["prior"]
    x = (test * 255).round() / 255
    torch.manual_seed(1)
    with torch.no_grad():
        posteriors = [model.encode(chunk) for chunk in x.split(500)]
        z = [m + torch.randn_like(m) * (0.5 * lv).exp() for m, lv in posteriors]
        recon = sum(-model.log_likelihood(chunk, zc).double().sum() for chunk, zc in zip(x.split(500), z))
        entropy = sum(torch.distributions.Normal(m, (0.5 * lv).exp()).log_prob(zc).double().sum()
                      for (m, lv), zc in zip(posteriors, z))
    print("| prior | test -ELBO, bits/dim | " + " | ".join(HEADS) + " |")
    for name, vae in priors.items():
        with torch.no_grad():
            log_prior = sum(vae.prior_log_density(zc).double().sum() for zc in z)
            bits = (recon + entropy - log_prior).item() / (len(x) * x[0].numel() * math.log(2))
            values = {s.name: s.value for s in evaluate(vae)}
        print(f"| {LABELS[name]} | {bits:.4f} | " + " | ".join(f"{values[h]:.4g}" for h in HEADS) + " |")


HEADS = ("fid", "kid", "precision", "recall", "density", "coverage")
LABELS = {"prior": "N(0, I)", "fitted": "Gaussian fitted to the codes"}


if __name__ == "__main__":
    main()
