"""genzoo-toy: registers one tiny model family, exactly as any third-party plugin would."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="toy-gan",
        family="toy",
        config="genzoo_toy.model:ToyConfig",
        builder="genzoo_toy.model:ToyGAN",
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 32, "steps": 20},
        data="digits",
        description="A two-layer MLP GAN from the genzoo-toy plugin.",
        tags=("gan", "third-party"),
    ))
