"""CycleGAN as a genzoo plugin: registration only, so listing the zoo imports no torch.

Besides the model it registers the ``cyclegan`` import format (generators saved by the official
PyTorch code: ``genzoo import cyclegan horse2zebra.pth --out FOLDER``) and ``mnist-inverted``, an
unpaired two-domain set built from MNIST alone (digits vs. different digits with inverted
intensities), so the demo variant trains offline from the same IDX files every other MNIST model uses.
"""

from genzoo import DatasetSpec, ImporterSpec, ModelSpec, Preprocessing, hookimpl


@hookimpl
def register_models(register):
    register(ModelSpec(
        name="cyclegan",
        family="cyclegan",
        config="genzoo.plugins.cyclegan.config:CycleGANConfig",
        builder="genzoo.plugins.cyclegan.model:CycleGAN",
        capabilities=("translate",),
        preprocessing=Preprocessing(normalize="minus_one_one"),
        recipe={"batch_size": 16, "steps": 4000, "log_every": 25, "sample_every": 0},
        data="mnist-inverted",
        description="CycleGAN (Zhu et al. 2017): unpaired A<->B translation with ResNet generators, "
                    "PatchGAN discriminators, LSGAN + cycle + identity losses.",
        tags=("gan", "translation", "unpaired"),
    ))


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="mnist-inverted",
        loader="genzoo.plugins.cyclegan.data:load_mnist_inverted",
        description="Unpaired MNIST: domain A = first half of the split, domain B = the other half inverted "
                    "(255 - x); no digit appears in both domains.",
        image_size=28, channels=1, classes=0,
    ))


@hookimpl
def register_importers(register):
    register(ImporterSpec(
        name="cyclegan",
        converter="genzoo.plugins.cyclegan.convert:from_official",
        description="ResNet generators saved by junyanz/pytorch-CycleGAN-and-pix2pix (latest_net_G_A.pth, with its "
                    "_net_G_B.pth partner when beside it; published ones such as horse2zebra.pth), 6 or 9 blocks.",
        upstream="https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
        pickle_hint="The official code saves .pth state dicts (torch.save(net.state_dict(), ...)); import that file.",
    ))
