"""The class-conditional GAN as a genzoo plugin: registration only, no torch import."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="cgan",
        family="cgan",
        config="genzoo.plugins.cgan.config:CGANConfig",
        builder="genzoo.plugins.cgan.model:CGAN",
        capabilities=("sample", "conditional"),
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 64, "steps": 3000, "ema_decay": 0.999},
        data="mnist",
        description="Conditional GAN (Mirza & Osindero 2014) with DCGAN nets: label embedding concatenated "
                    "to z; discriminator by input concatenation or projection (Miyato & Koyama 2018), with a "
                    "class loss on the projection logits and a mode-seeking term.",
        tags=("gan", "conditional"),
    ))
