"""StyleGAN2: the paper's layout, lazy regularisation through the trainer's phases, sampling options, and
learning on real MNIST (the import of upstream weights and its forward equality: tests/test_import.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from gan_quality import fd_to_data, real_images, short_run, untrained

import genzoo
from genzoo.cli import cli
from genzoo.core.data import BatchLoader, format_images, load_digits
from genzoo.core.errors import ConfigError
from genzoo.core.fir import fir_kernel, upsample2d
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig
from genzoo.core.trainer import Trainer

SMALL = {"channel_max": 16, "style_dim": 64, "n_mlp": 2}
STEPS = 30
TINY = {"image_size": 8, "channels": 1, "style_dim": 8, "n_mlp": 1, "channel_max": 8, "d_reg_every": 4,
        "g_reg_every": 2}


def test_official_layouts_have_the_papers_widths_and_latents():
    from genzoo.plugins.stylegan2.model import widths

    big = genzoo.create_model("stylegan2-1024", **{"n_mlp": 1}).config  # widths only; n_mlp keeps it quick
    assert widths(big) == {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}
    model = genzoo.create_model("stylegan2-256")
    assert model.generator.n_latent == 14 and len(model.generator.style) == 9  # pixel norm + 8 layers
    assert model.config.style_dim == 512 and model.config.channel_multiplier == 2
    mnist = genzoo.create_model("stylegan2-mnist").eval()
    with torch.no_grad():
        x = mnist.sample(5, generator=torch.Generator().manual_seed(0))
        assert x.shape == (5, 1, 28, 28) and mnist.discriminator(x).shape == (5,)  # 5: stddev groups of 1
    assert mnist.generator.input.input.shape[-1] == 7  # 28 = 7 * 2 * 2


def test_fir_upsampling_is_bilinear_away_from_the_border():
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    ours = upsample2d(x, fir_kernel((1, 3, 3, 1), gain=4.0))
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert ours.shape == bilinear.shape
    assert torch.allclose(ours[..., 1:-1, 1:-1], bilinear[..., 1:-1, 1:-1], atol=1e-6)


def test_lazy_regularisers_run_every_n_steps_share_the_optimiser_and_log_their_own_mean():
    torch.manual_seed(0)
    model = genzoo.create_model("stylegan2", **TINY)
    calls: dict[str, list[float]] = {}

    def counted(name, loss):
        def run(batch):
            out = loss(batch)
            calls.setdefault(name, []).append(out["loss"].item())
            return out
        return run

    model.d_loss, model.r1_loss = counted("d", model.d_loss), counted("d_reg", model.r1_loss)
    model.g_loss, model.pl_loss = counted("g", model.g_loss), counted("g_reg", model.pl_loss)
    loader = BatchLoader(format_images(load_digits(split="train"), 8, 1), Preprocessing(), 8, 0, "cpu")
    trainer = Trainer(model, loader, TrainConfig(steps=9, log_every=9, sample_grid=0, device="cpu"), progress=False)
    logs = trainer.fit().logs
    # steps 0..8: R1 on 0, 4, 8 (every 4); path length on 0, 2, 4, 6, 8 (every 2)
    assert {k: len(v) for k, v in calls.items()} == {"d": 9, "d_reg": 3, "g": 9, "g_reg": 5}
    assert set(trainer.optimizers) == {"d", "g"}  # the regularisers step their player's Adam
    d_params = list(model.discriminator.parameters())
    assert trainer.optimizers["d"].state[d_params[0]]["step"].item() == 12
    assert logs["d_reg.loss"] == pytest.approx(sum(calls["d_reg"]) / 3, rel=1e-5)
    assert logs["g_reg.loss"] == pytest.approx(sum(calls["g_reg"]) / 5, rel=1e-5)
    # lazy steps are scaled by their interval, and Adam's lr/betas corrected for them (the paper's Appendix B)
    d, d_reg, _, g_reg = model.phases()
    assert (d_reg.every, d_reg.shares_optimizer, g_reg.every, g_reg.shares_optimizer) == (4, "d", 2, "g")
    assert d.optim.lr == pytest.approx(0.002 * 4 / 5) and d.optim.betas[1] == pytest.approx(0.99 ** 0.8)


def test_truncation_mixing_and_interpolation():
    torch.manual_seed(0)
    model = genzoo.create_model("stylegan2-mnist", **SMALL).eval()
    model.generator.w_avg.normal_()
    n_latent = model.generator.n_latent

    def draw(seed, **options):
        return model.sample(4, generator=torch.Generator().manual_seed(seed), noise="fixed", **options)

    with torch.no_grad():
        average = draw(0, truncation=0.0)  # every w is the mean w: one image four times
        assert torch.allclose(average, average[:1].expand_as(average), atol=1e-6)
        assert not torch.allclose(draw(0, truncation=0.5), draw(0))
        # all layers from the second seed = that seed's images; none differs from both
        assert torch.allclose(draw(1, mix_seed=2, mix_layers=f"0-{n_latent - 1}"), draw(2), atol=1e-6)
        coarse = draw(1, mix_seed=2, mix_layers="0-1")
        assert not torch.allclose(coarse, draw(1)) and not torch.allclose(coarse, draw(2))
        z = torch.randn(2, 64, generator=torch.Generator().manual_seed(3))
        frames = model.interpolate(z[0], z[1], steps=5)
        ends = model.generator.synthesis(model.w_plus(z), [m.expand(2, -1, -1, -1)
                                                           for m in model.generator.fixed_noise()]).clamp(-1, 1)
        assert frames.shape == (5, 1, 28, 28) and torch.allclose(frames[[0, -1]], ends, atol=1e-5)
    with pytest.raises(ConfigError, match="mix_layers"):
        draw(1, mix_seed=2, mix_layers=f"2-{n_latent}")
    with pytest.raises(ConfigError, match="truncation"):
        draw(1, truncation=-1)


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    return short_run("stylegan2-mnist", data_root, tmp_path_factory.mktemp("sg2") / "run", steps=STEPS, config=SMALL)


@pytest.mark.slow
def test_short_run_moves_samples_toward_the_data(run, data_root):
    assert run.step == STEPS and {"d.loss", "d_reg.r1", "g.loss", "g_reg.pl"} <= set(run.logs)
    test_images = real_images(data_root, 1000)[0]
    before = fd_to_data(untrained("stylegan2-mnist", SMALL), test_images)
    after = fd_to_data(genzoo.create_model(str(run.run_dir)), test_images)  # the EMA generator
    assert after < 0.6 * before, (before, after)


@pytest.mark.slow
def test_sample_command_truncation_and_style_mixing(run, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["sample", str(run.run_dir), "--n", "4", "--truncation", "0.7", "--out",
                              str(tmp_path / "t.png")], prog_name="genzoo")
    assert out.exit_code == 0 and "truncation=0.7" in out.output, out.output
    out = runner.invoke(cli, ["sample", str(run.run_dir), "--n", "4", "--mix", "1,2", "--layers", "0-3", "--out",
                              str(tmp_path / "mix.png")], prog_name="genzoo")
    assert out.exit_code == 0 and "mix_seed=2, mix_layers=0-3" in out.output, out.output
    from PIL import Image

    with Image.open(tmp_path / "mix.png") as im:  # three rows of four: seed 1, seed 2, their mix
        assert im.size == (4 * 30 + 2, 3 * 30 + 2)
    out = runner.invoke(cli, ["sample", "dcgan-mnist", "--truncation", "0.5", "--out", str(tmp_path / "d.png")],
                        prog_name="genzoo")
    assert out.exit_code != 0 and "--truncation: dcgan takes no sampling options" in out.output
