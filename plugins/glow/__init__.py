"""Glow as a genzoo plugin: registration only, so listing the zoo imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="glow",
        family="glow",
        config="genzoo.plugins.glow.config:GlowConfig",
        builder="genzoo.plugins.glow.model:Glow",
        capabilities=("sample", "log_prob", "encode"),
        sample_options="genzoo.plugins.glow.config:GlowSampleOptions",
        preprocessing=Preprocessing(normalize="dequantize"),
        recipe={"batch_size": 64, "steps": 5000, "grad_clip": 50.0},
        data="mnist",
        description="Glow (Kingma & Dhariwal 2018): actnorm, LU 1x1 convs, affine couplings, split priors.",
        tags=("flow", "likelihood", "unconditional"),
    ))
