"""The variational autoencoder as a genzoo plugin: registration only, so listing imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="vae",
        family="vae",
        config="genzoo.plugins.vae.config:VAEConfig",
        builder="genzoo.plugins.vae.model:VAE",
        capabilities=("sample", "log_prob", "reconstruct", "encode"),
        preprocessing=Preprocessing(normalize="zero_one"),
        recipe={"batch_size": 128, "steps": 5000, "sample_every": 1000},
        data="mnist",
        description="Variational autoencoder (Kingma & Welling 2014): MLP or conv nets, Bernoulli or "
                    "Gaussian decoder, ELBO training, IWAE bound (Burda et al. 2016) for log-likelihoods.",
        tags=("vae", "latent-variable", "likelihood"),
    ))
