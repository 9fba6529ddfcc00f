"""DCGAN as a genzoo plugin: registration only, so listing the zoo imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="dcgan",
        family="dcgan",
        config="genzoo.plugins.dcgan.config:DCGANConfig",
        builder="genzoo.plugins.dcgan.model:DCGAN",
        capabilities=("sample",),
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 128, "steps": 3000, "ema_decay": 0.999},
        data="mnist",
        description="Deep convolutional GAN (Radford et al. 2016): strided-conv generator and discriminator, BN.",
        tags=("gan", "unconditional"),
    ))
