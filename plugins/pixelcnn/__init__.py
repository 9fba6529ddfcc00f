"""PixelCNN as a genzoo plugin: registration only, so listing the zoo imports no torch."""

from genzoo import ModelSpec, Preprocessing, hookimpl

_RECIPE = {"batch_size": 64, "steps": 2000, "sample_every": 0, "sample_grid": 64}


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="pixelcnn",
        family="pixelcnn",
        config="genzoo.plugins.pixelcnn.config:PixelCNNConfig",
        builder="genzoo.plugins.pixelcnn.model:build",
        capabilities=("sample", "log_prob"),
        preprocessing=Preprocessing(normalize="uint8"),
        recipe=_RECIPE,
        data="mnist",
        description="PixelCNN (van den Oord et al. 2016): masked convs, 256-way softmax per sub-pixel, exact "
                    "likelihood; arch=gated for Gated PixelCNN.",
        tags=("autoregressive", "likelihood", "unconditional"),
    ))
    register(ModelSpec(
        name="conditional-pixelcnn",
        family="pixelcnn",
        config="genzoo.plugins.pixelcnn.config:PixelCNNConfig",
        builder="genzoo.plugins.pixelcnn.model:build",
        capabilities=("sample", "log_prob", "conditional"),
        preprocessing=Preprocessing(normalize="uint8"),
        defaults={"arch": "gated", "num_classes": 10},
        recipe=_RECIPE,
        data="mnist",
        description="Class-conditional Gated PixelCNN: a learned per-class bias in every gate.",
        tags=("autoregressive", "likelihood", "conditional"),
    ))
