"""StyleGAN2 as a genzoo plugin: registration only, so listing the zoo imports no torch.

Besides the model it registers the ``stylegan2`` import format: rosinality/stylegan2-pytorch
checkpoints (the widely shared converted FFHQ/LSUN files), so ``genzoo import stylegan2 FILE
--out FOLDER`` makes a pretrained folder from them.
"""

from genzoo import ImporterSpec, ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="stylegan2",
        family="stylegan2",
        config="genzoo.plugins.stylegan2.config:StyleGAN2Config",
        builder="genzoo.plugins.stylegan2.model:StyleGAN2",
        capabilities=("sample",),
        sample_options="genzoo.plugins.stylegan2.config:StyleGAN2SampleOptions",
        preprocessing=Preprocessing(normalize="minus_one_one", hflip=True),
        recipe={"batch_size": 32, "steps": 20000, "ema_decay": 0.998},
        data="cifar10",
        description="StyleGAN2 (Karras et al. 2020): mapping network, modulated/demodulated convs, noise inputs, "
                    "skip generator, residual discriminator, lazy R1 + path length regularisation, style mixing.",
        tags=("gan", "unconditional", "style-based"),
    ))


@hookimpl
def register_importers(register):
    register(ImporterSpec(
        name="stylegan2",
        converter="genzoo.plugins.stylegan2.convert:from_rosinality",
        description="StyleGAN2 checkpoints of rosinality/stylegan2-pytorch (.pt: g_ema [+ g, d], latent_avg), "
                    "e.g. the converted official FFHQ/LSUN networks, into stylegan2 models.",
        upstream="https://github.com/rosinality/stylegan2-pytorch",
        pickle_hint="Convert an NVIDIA network .pkl into a state dict with rosinality/stylegan2-pytorch's "
                    "convert_weight.py (python convert_weight.py --repo PATH/TO/stylegan2 NETWORK.pkl, in an "
                    "environment where you trust the file; it writes NETWORK.pt), then run genzoo import "
                    "stylegan2 NETWORK.pt --out FOLDER.",
    ))
