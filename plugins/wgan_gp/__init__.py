"""WGAN-GP as a genzoo plugin: registration only, no torch import."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="wgan-gp",
        family="wgan_gp",
        config="genzoo.plugins.wgan_gp.config:WGANGPConfig",
        builder="genzoo.plugins.wgan_gp.model:WGANGP",
        capabilities=("sample",),
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 64, "steps": 5000, "ema_decay": 0.999},
        data="mnist",
        description="Wasserstein GAN with gradient penalty (Gulrajani et al. 2017): DCGAN nets, layer-norm "
                    "critic, lambda=10, 5 critic steps per generator step, Adam(1e-4, (0, 0.9)).",
        tags=("gan", "unconditional", "wasserstein"),
    ))
