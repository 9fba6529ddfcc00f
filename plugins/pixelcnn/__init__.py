"""PixelCNN as a genzoo plugin: registration only, so listing the zoo imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl

_FAMILY = dict(
    family="pixelcnn",
    config="genzoo.plugins.pixelcnn.config:PixelCNNConfig",
    builder="genzoo.plugins.pixelcnn.model:PixelCNN",
    sample_options="genzoo.plugins.pixelcnn.config:PixelCNNSampleOptions",
    preprocessing=Preprocessing(normalize="uint8"),
    recipe={"batch_size": 64, "steps": 2000, "sample_every": 0, "sample_grid": 64},
    data="mnist",
)


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="pixelcnn",
        capabilities=("sample", "log_prob"),
        description="PixelCNN (van den Oord et al. 2016): masked convs, 256-way softmax per sub-pixel, exact "
                    "likelihood; arch=gated for Gated PixelCNN.",
        tags=("autoregressive", "likelihood", "unconditional"),
        **_FAMILY,
    ))
    register(ModelSpec(
        name="conditional-pixelcnn",
        capabilities=("sample", "log_prob", "conditional"),  # the class adds "conditional" when num_classes > 0
        defaults={"arch": "gated", "num_classes": 10},
        description="Class-conditional Gated PixelCNN: a learned per-class bias in every gate.",
        tags=("autoregressive", "likelihood", "conditional"),
        **_FAMILY,
    ))
