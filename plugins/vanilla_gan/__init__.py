"""The original GAN (Goodfellow et al. 2014) as a genzoo plugin: registration only, no torch import."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="vanilla-gan",
        family="vanilla_gan",
        config="genzoo.plugins.vanilla_gan.config:VanillaGANConfig",
        builder="genzoo.plugins.vanilla_gan.model:VanillaGAN",
        capabilities=("sample",),
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 64, "steps": 5000, "ema_decay": 0.999},
        data="mnist",
        description="The original GAN (Goodfellow et al. 2014): MLP generator (batch-normed in the zoo's "
                    "variants) and discriminator on flattened pixels, non-saturating loss, Adam(2e-4, 0.5).",
        tags=("gan", "unconditional", "mlp", "baseline"),
    ))
