"""RealNVP as a genzoo plugin: registration only, so listing the zoo imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="realnvp",
        family="realnvp",
        config="genzoo.plugins.realnvp.config:RealNVPConfig",
        builder="genzoo.plugins.realnvp.model:RealNVP",
        capabilities=("sample", "log_prob", "encode"),
        sample_options="genzoo.plugins.realnvp.config:RealNVPSampleOptions",
        preprocessing=Preprocessing(normalize="dequantize"),
        recipe={"batch_size": 64, "steps": 5000, "grad_clip": 100.0},
        data="mnist",
        description="RealNVP (Dinh et al. 2017): affine couplings, checkerboard/channel masks, multi-scale.",
        tags=("flow", "likelihood", "unconditional"),
    ))
