"""Deterministic and denoising autoencoders as a genzoo plugin: registration only, no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="autoencoder",
        family="autoencoder",
        config="genzoo.plugins.autoencoder.config:AutoencoderConfig",
        builder="genzoo.plugins.autoencoder.model:Autoencoder",
        capabilities=("reconstruct", "encode"),
        preprocessing=Preprocessing(normalize="zero_one"),
        recipe={"batch_size": 128, "steps": 3000},
        data="mnist",
        description="Autoencoder; with noise_std > 0 a denoising autoencoder (Vincent et al. 2008/2010) "
                    "trained to undo gaussian, salt-and-pepper or masking noise.",
        tags=("autoencoder", "denoising"),
    ))
