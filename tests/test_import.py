"""``genzoo import``: official CycleGAN and rosinality StyleGAN2 checkpoints, through the real CLI.

The tests write checkpoints in the upstream key layouts and shapes (random tensors, tiny widths), save
them with torch.save as the upstream code does, import them with ``genzoo import`` and compare the
zoo's forward pass with a functional reference written here from the papers' maths and the upstream
layouts (per-sample modulated weights and grouped convolutions, zero-insertion upsampling, instance
norm by hand): a different computation from the zoo's, so agreement to 1e-5 is evidence, not echo.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

import genzoo
from genzoo.cli import cli

TOL = 1e-5


def genzoo_cli(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="genzoo")


# -- CycleGAN: junyanz/pytorch-CycleGAN-and-pix2pix ResnetGenerator ------------------------------

def official_cyclegan_state(ngf: int, n_blocks: int, channels: int = 3, seed: int = 0, stale: bool = True) -> dict:
    """model.N keys as the official ResnetGenerator names them (instance norm: convs keep their biases)."""
    g = torch.Generator().manual_seed(seed)

    def conv(i: int, cin: int, cout: int, k: int, transpose: bool = False) -> dict:
        shape = (cin, cout, k, k) if transpose else (cout, cin, k, k)
        return {f"model.{i}.weight": torch.randn(shape, generator=g) * 0.2,
                f"model.{i}.bias": torch.randn(cout, generator=g) * 0.1}

    state = {**conv(1, channels, ngf, 7), **conv(4, ngf, 2 * ngf, 3), **conv(7, 2 * ngf, 4 * ngf, 3)}
    for b in range(n_blocks):
        for j in (1, 5):
            state.update({k.replace(f"model.{j}.", f"model.{10 + b}.conv_block.{j}."): v
                          for k, v in conv(j, 4 * ngf, 4 * ngf, 3).items()})
    up = 10 + n_blocks
    state.update({**conv(up, 4 * ngf, 2 * ngf, 3, True), **conv(up + 3, 2 * ngf, ngf, 3, True)})
    state.update(conv(up + 7, ngf, channels, 7))
    if stale:  # what PyTorch < 0.4 saved for InstanceNorm layers
        state.update({"model.2.running_mean": torch.zeros(ngf), "model.2.running_var": torch.ones(ngf),
                      f"model.{10}.conv_block.2.num_batches_tracked": torch.tensor(0)})
    return state


def reference_resnet_generator(s: dict, x: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """c7s1-ngf, d2ngf, d4ngf, n x residual, u2ngf, ungf, c7s1-3, tanh (Johnson et al.; the official layout)."""
    def inorm(t):  # nn.InstanceNorm2d(affine=False, track_running_stats=False), the official norm_layer
        return F.instance_norm(t, eps=1e-5)

    def conv(t, i, pad=0, stride=1, reflect=0):
        if reflect:
            t = F.pad(t, (reflect,) * 4, mode="reflect")
        return F.conv2d(t, s[f"{i}.weight"], s[f"{i}.bias"], stride=stride, padding=pad)

    h = torch.relu(inorm(conv(x, "model.1", reflect=3)))
    h = torch.relu(inorm(conv(h, "model.4", pad=1, stride=2)))
    h = torch.relu(inorm(conv(h, "model.7", pad=1, stride=2)))
    for b in range(n_blocks):
        p = f"model.{10 + b}.conv_block"
        r = torch.relu(inorm(conv(h, f"{p}.1", reflect=1)))
        h = h + inorm(conv(r, f"{p}.5", reflect=1))
    up = 10 + n_blocks
    for i in (up, up + 3):
        h = torch.relu(inorm(F.conv_transpose2d(h, s[f"model.{i}.weight"], s[f"model.{i}.bias"], stride=2,
                                                padding=1, output_padding=1)))
    return torch.tanh(conv(h, f"model.{up + 7}", reflect=3))


@pytest.mark.parametrize("n_blocks", [9, 6])
def test_cyclegan_import_matches_the_official_generator(tmp_path, n_blocks):
    state = official_cyclegan_state(ngf=4, n_blocks=n_blocks)
    torch.save(state, tmp_path / "latest_net_G_A.pth")
    out = tmp_path / "h2z"
    result = genzoo_cli("import", "cyclegan", tmp_path / "latest_net_G_A.pth", "--out", out)
    assert result.exit_code == 0, result.output
    model = genzoo.create_model(str(out))
    assert (model.config.n_blocks, model.config.g_width, model.config.layout, model.config.generators) == (
        n_blocks, 4, "official", "a2b")
    x = torch.rand(2, 3, 36, 36, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ours = model.translate(x, "a2b")
        # one to one: the official keys are the zoo generator's own
        assert set(model.g_ab.state_dict()) == {k for k in state if not k.endswith(("running_mean", "running_var",
                                                                                       "num_batches_tracked"))}
    assert (ours - reference_resnet_generator(state, x, n_blocks)).abs().max() < TOL
    info = json.loads((out / "config.json").read_text())
    imported = info["provenance"]["imported"]
    assert imported["format"] == "cyclegan" and len(imported["sha256"]) == 64
    assert "3 InstanceNorm running-statistics" in imported["dropped"]
    card = (out / "README.md").read_text()
    assert imported["sha256"] in card and "junyanz/pytorch-CycleGAN-and-pix2pix" in card
    assert 'license: ""' in card and "fill in" in card
    with pytest.raises(genzoo.CapabilityError, match="A->B generator only"):
        model.translate(x, "b2a")


def test_cyclegan_files_in_torch_legacy_format_import(tmp_path):
    """The published pretrained generators (horse2zebra.pth) predate PyTorch 1.6: torch.save's non-zip format,
    which begins like a bare pickle but is read by torch.load(weights_only=True), so it is not refused."""
    state = official_cyclegan_state(ngf=4, n_blocks=6)
    torch.save(state, tmp_path / "horse2zebra.pth", _use_new_zipfile_serialization=False)
    result = genzoo_cli("import", "cyclegan", tmp_path / "horse2zebra.pth", "--out", tmp_path / "h2z")
    assert result.exit_code == 0, result.output
    x = torch.rand(1, 3, 12, 12) * 2 - 1
    with torch.no_grad():
        ours = genzoo.create_model(str(tmp_path / "h2z")).translate(x, "a2b")
    assert (ours - reference_resnet_generator(state, x, 6)).abs().max() < TOL


def test_cyclegan_pair_imports_both_directions_and_translates_any_size(tmp_path):
    a, b = official_cyclegan_state(4, 6, seed=0, stale=False), official_cyclegan_state(4, 6, seed=1, stale=False)
    torch.save(a, tmp_path / "latest_net_G_A.pth")
    torch.save(b, tmp_path / "latest_net_G_B.pth")
    out = tmp_path / "pair"
    assert genzoo_cli("import", "cyclegan", tmp_path / "latest_net_G_A.pth", "--out", out).exit_code == 0
    model = genzoo.create_model(str(out))
    x = torch.rand(1, 3, 20, 20) * 2 - 1
    with torch.no_grad():
        assert (model.translate(x, "b2a") - reference_resnet_generator(b, x, 6)).abs().max() < TOL
    # genzoo translate FOLDER photo.jpg --out zebra.png: any input size comes out at 256x256
    Image.new("RGB", (300, 170), (200, 120, 40)).save(tmp_path / "photo.jpg")
    result = genzoo_cli("translate", out, tmp_path / "photo.jpg", "--out", tmp_path / "zebra.png")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "zebra.png") as im:
        assert im.size == (256, 256)


# -- StyleGAN2: rosinality/stylegan2-pytorch ----------------------------------------------------

def fir(gain: float) -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[:, None] * k[None, :]
    return k / k.sum() * gain


def rosinality_state(size: int, style_dim: int, n_mlp: int, ch: int, seed: int = 0) -> dict:
    """A checkpoint as rosinality's train.py / convert_weight.py write it: g_ema, g, d, latent_avg."""
    gen = torch.Generator().manual_seed(seed)

    def r(*shape, scale=1.0):
        return torch.randn(*shape, generator=gen) * scale

    def modconv(p, cin, cout, k, up=False, noise=True):
        out = {f"{p}.conv.weight": r(1, cout, cin, k, k), f"{p}.conv.modulation.weight": r(cin, style_dim),
               f"{p}.conv.modulation.bias": 1 + r(cin, scale=0.1)}
        if up:
            out[f"{p}.conv.blur.kernel"] = fir(4.0)
        if noise:
            out.update({f"{p}.noise.weight": r(1, scale=0.3), f"{p}.activate.bias": r(cout, scale=0.1)})
        return out

    def to_rgb(p, up=True):
        out = {k: v for k, v in modconv(p, ch, 3, 1, noise=False).items()}
        out[f"{p}.bias"] = r(1, 3, 1, 1, scale=0.1)
        if up:
            out[f"{p}.upsample.kernel"] = fir(4.0)
        return out

    n_up = int(math.log2(size)) - 2
    g = {}
    for i in range(1, n_mlp + 1):
        g.update({f"style.{i}.weight": r(style_dim, style_dim) * 100, f"style.{i}.bias": r(style_dim)})  # lr_mul 0.01
    g.update({"input.input": r(1, ch, 4, 4), **modconv("conv1", ch, ch, 3), **to_rgb("to_rgb1", up=False)})
    for k in range(n_up):
        g.update({**modconv(f"convs.{2 * k}", ch, ch, 3, up=True), **modconv(f"convs.{2 * k + 1}", ch, ch, 3),
                  **to_rgb(f"to_rgbs.{k}")})
    for i in range(2 * n_up + 1):
        res = 4 * 2 ** ((i + 1) // 2)
        g[f"noises.noise_{i}"] = r(1, 1, res, res)
    d = {"convs.0.0.weight": r(ch, 3, 1, 1), "convs.0.1.bias": r(ch, scale=0.1)}
    for b in range(1, n_up + 1):
        d.update({f"convs.{b}.conv1.0.weight": r(ch, ch, 3, 3), f"convs.{b}.conv1.1.bias": r(ch, scale=0.1),
                  f"convs.{b}.conv2.0.kernel": fir(1.0), f"convs.{b}.conv2.1.weight": r(ch, ch, 3, 3),
                  f"convs.{b}.conv2.2.bias": r(ch, scale=0.1), f"convs.{b}.skip.0.kernel": fir(1.0),
                  f"convs.{b}.skip.1.weight": r(ch, ch, 1, 1)})
    d.update({"final_conv.0.weight": r(ch, ch + 1, 3, 3), "final_conv.1.bias": r(ch, scale=0.1),
              "final_linear.0.weight": r(ch, ch * 16), "final_linear.0.bias": r(ch, scale=0.1),
              "final_linear.1.weight": r(1, ch), "final_linear.1.bias": r(1, scale=0.1)})
    g_raw = {k: v + r(*v.shape, scale=0.01) if v.is_floating_point() and "kernel" not in k else v
             for k, v in g.items()}
    return {"g_ema": g, "g": g_raw, "d": d, "latent_avg": r(style_dim, scale=0.5)}


def lrelu(x, bias):
    return F.leaky_relu(x + bias.view(1, -1, *([1] * (x.dim() - 2))), 0.2) * math.sqrt(2)


def upfirdn(x, k, up, pad):
    """Zero insertion, padding, true convolution with k (scipy's upfirdn, per channel), written plainly."""
    n, c, h, w = x.shape
    y = x.new_zeros(n, c, h * up, w * up)
    y[:, :, ::up, ::up] = x
    y = F.pad(y, (pad[0], pad[1], pad[0], pad[1]))
    size = (y.shape[2] - k.shape[0] + 1, y.shape[3] - k.shape[1] + 1)
    return F.conv2d(y.reshape(n * c, 1, *y.shape[2:]), k.flip(0, 1)[None, None]).reshape(n, c, *size)


def modulated(s, p, x, w, demod=True, up=False):
    """Eq. 1-3 of the paper, literally: per-sample weights s_i * w_ijk, demodulated, as a grouped convolution."""
    weight = s[f"{p}.conv.weight"][0]  # (out, in, k, k)
    cout, cin, k, _ = weight.shape
    style = F.linear(w, s[f"{p}.conv.modulation.weight"] / math.sqrt(w.shape[1]), s[f"{p}.conv.modulation.bias"])
    wt = weight[None] / math.sqrt(cin * k * k) * style[:, None, :, None, None]
    if demod:
        wt = wt / torch.sqrt(wt.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
    n = x.shape[0]
    if up:  # transposed conv of each sample with its own weights, then the [1,3,3,1] blur
        out = torch.cat([F.conv_transpose2d(x[i:i + 1], wt[i].transpose(0, 1), stride=2) for i in range(n)])
        return upfirdn(out, fir(4.0), 1, (1, 1))
    out = F.conv2d(x.reshape(1, n * cin, *x.shape[2:]), wt.reshape(n * cout, cin, k, k), padding=k // 2, groups=n)
    return out.reshape(n, cout, *x.shape[2:])


def reference_generator(s: dict, z: torch.Tensor, avg: torch.Tensor, psi: float) -> torch.Tensor:
    w = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in s:
        w = lrelu(F.linear(w, s[f"style.{i}.weight"] * 0.01 / math.sqrt(w.shape[1])), s[f"style.{i}.bias"] * 0.01)
        i += 1
    w = avg + psi * (w - avg)

    def styled(p, x, noise, up=False):
        return lrelu(modulated(s, p, x, w, up=up) + s[f"{p}.noise.weight"] * noise, s[f"{p}.activate.bias"])

    def rgb(p, x):
        return modulated(s, p, x, w, demod=False) + s[f"{p}.bias"]

    x = styled("conv1", s["input.input"].repeat(len(z), 1, 1, 1), s["noises.noise_0"])
    img = rgb("to_rgb1", x)
    k = 0
    while f"to_rgbs.{k}.bias" in s:
        x = styled(f"convs.{2 * k}", x, s[f"noises.noise_{2 * k + 1}"], up=True)
        x = styled(f"convs.{2 * k + 1}", x, s[f"noises.noise_{2 * k + 2}"])
        img = rgb(f"to_rgbs.{k}", x) + upfirdn(img, fir(4.0), 2, (2, 1))
        k += 1
    return img


def reference_discriminator(s: dict, x: torch.Tensor) -> torch.Tensor:
    def conv(p, t, pad, stride=1, bias=None):
        weight = s[f"{p}.weight"]
        return F.conv2d(t, weight / math.sqrt(weight[0].numel()), bias, stride=stride, padding=pad)

    h = lrelu(conv("convs.0.0", x, 0), s["convs.0.1.bias"])
    b = 1
    while f"convs.{b}.conv1.0.weight" in s:
        p = f"convs.{b}"
        y = lrelu(conv(f"{p}.conv1.0", h, 1), s[f"{p}.conv1.1.bias"])
        y = lrelu(conv(f"{p}.conv2.1", upfirdn(y, fir(1.0), 1, (2, 2)), 0, 2), s[f"{p}.conv2.2.bias"])
        h = (y + conv(f"{p}.skip.1", upfirdn(h, fir(1.0), 1, (1, 1)), 0, 2)) / math.sqrt(2)
        b += 1
    n = h.shape[0]
    group = min(n, 4)
    std = torch.sqrt(h.view(group, -1, *h.shape[1:]).var(0, unbiased=False) + 1e-8).mean((1, 2, 3))
    h = torch.cat([h, std.repeat(group)[:, None, None, None].expand(n, 1, *h.shape[2:])], 1)
    h = lrelu(conv("final_conv.0", h, 1), s["final_conv.1.bias"]).flatten(1)
    h = lrelu(F.linear(h, s["final_linear.0.weight"] / math.sqrt(h.shape[1])), s["final_linear.0.bias"])
    return F.linear(h, s["final_linear.1.weight"] / math.sqrt(h.shape[1]), s["final_linear.1.bias"]).view(-1)


@pytest.fixture(scope="module")
def stylegan_import(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sg")
    state = rosinality_state(size=16, style_dim=8, n_mlp=2, ch=8)
    # as rosinality's train.py saves it: the command-line arguments (a Namespace) beside the weights
    torch.save({**state, "args": argparse.Namespace(size=16, n_mlp=2, lr=0.002)}, tmp / "ffhq-16.pt")
    result = genzoo_cli("import", "stylegan2", tmp / "ffhq-16.pt", "--out", tmp / "sg")
    assert result.exit_code == 0, result.output
    # the Namespace was let through for that one load only, not for every later torch.load in the process
    assert argparse.Namespace not in torch.serialization.get_safe_globals()
    return state, tmp


def test_stylegan2_import_matches_the_upstream_forward(stylegan_import):
    state, tmp = stylegan_import
    model = genzoo.create_model(str(tmp / "sg"))  # the default variant: g_ema
    c = model.config
    assert (c.image_size, c.style_dim, c.n_mlp, c.channel_max, c.channels) == (16, 8, 2, 8, 3)
    assert torch.equal(model.generator.w_avg, state["latent_avg"])
    g = torch.Generator().manual_seed(5)
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        images = model.sample(4, generator=g, truncation=0.5, noise="fixed")
        unclamped = model.generator.synthesis(model.w_plus(z, 0.5), [m.expand(4, -1, -1, -1)
                                                                   for m in model.generator.fixed_noise()])
        reference = reference_generator(state["g_ema"], z, state["latent_avg"], 0.5)
        assert (unclamped - reference).abs().max() < TOL
        assert (images - reference.clamp(-1, 1)).abs().max() < TOL
        # the raw generator ("g") is the folder's raw variant, the discriminator ("d") is mapped too
        raw = genzoo.create_model(str(tmp / "sg"), variant="raw")
        raw_images = raw.generator.synthesis(raw.w_plus(z), [m.expand(4, -1, -1, -1)
                                                            for m in raw.generator.fixed_noise()])
        assert (raw_images - reference_generator(state["g"], z, state["latent_avg"], 1.0)).abs().max() < TOL
        x = torch.rand(4, 3, 16, 16) * 2 - 1
        assert (model.discriminator(x) - reference_discriminator(state["d"], x)).abs().max() < TOL
    card = (tmp / "sg" / "README.md").read_text()
    assert "rosinality/stylegan2-pytorch" in card and "latent_avg from the checkpoint" in card


def test_stylegan2_imported_folder_samples_on_the_command_line(stylegan_import):
    _, tmp = stylegan_import
    result = genzoo_cli("sample", tmp / "sg", "--n", "16", "--truncation", "0.5", "--out", tmp / "grid.png")
    assert result.exit_code == 0, result.output
    assert "truncation=0.5" in result.output and (tmp / "grid.png").is_file()


def test_stylegan2_without_latent_avg_estimates_the_mean_w(tmp_path):
    state = rosinality_state(size=8, style_dim=8, n_mlp=1, ch=4, seed=3)
    torch.save({"g_ema": state["g_ema"]}, tmp_path / "g.pt")
    assert genzoo_cli("import", "stylegan2", tmp_path / "g.pt", "--out", tmp_path / "out").exit_code == 0
    model = genzoo.create_model(str(tmp_path / "out"))
    z = torch.randn(4096, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model.generator.w_avg, model.generator.mapping(z).mean(0), atol=1e-5)


# -- refusals: nothing written, one clear line ------------------------------------------------------

def _refused(tmp_path, fmt, path, *, match, extra=()):
    out = tmp_path / "never"
    result = genzoo_cli("import", fmt, path, "--out", out, *extra)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert match in result.output, result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
    return result.output


def test_nvidia_pickles_are_refused_unopened(tmp_path):
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    marker = tmp_path / "ran"
    # a pickle that would create a file if anyone unpickled it
    path.write_bytes(pickle.dumps(_Marker(str(marker))))
    text = _refused(tmp_path, "stylegan2", path, match="is a Python pickle")
    assert "convert_weight.py" in text and not marker.exists()
    # the same bytes under another name are recognised by content, and torch.load(weights_only) never runs them
    path.rename(tmp_path / "renamed.pt")
    _refused(tmp_path, "stylegan2", tmp_path / "renamed.pt", match="is a Python pickle")
    assert not marker.exists()


class _Marker:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_mismatched_checkpoints_name_the_first_offending_keys(tmp_path):
    state = official_cyclegan_state(4, 6, stale=False)
    torch.save({"g_ema": {}}, tmp_path / "wrong-format.pth")
    _refused(tmp_path, "cyclegan", tmp_path / "wrong-format.pth", match="not an official CycleGAN ResnetGenerator")
    torch.save({k: v for k, v in state.items() if k != "model.13.conv_block.5.bias"} | {"extra.weight": torch.zeros(1)},
               tmp_path / "keys.pth")
    _refused(tmp_path, "cyclegan", tmp_path / "keys.pth",
             match="missing: model.13.conv_block.5.bias; unexpected: extra.weight")
    torch.save(state | {"model.4.bias": torch.zeros(5)}, tmp_path / "shape.pth")
    _refused(tmp_path, "cyclegan", tmp_path / "shape.pth", match="wrong shape: model.4.bias (5,) (expected (8,))")
    sg = rosinality_state(size=16, style_dim=8, n_mlp=2, ch=8)
    torch.save({"g_ema": {k: v for k, v in sg["g_ema"].items() if k != "noises.noise_3"}}, tmp_path / "sg.pt")
    _refused(tmp_path, "stylegan2", tmp_path / "sg.pt", match="missing: noises.noise_3")
    torch.save({"g_ema": sg["g_ema"]}, tmp_path / "sg16.pt")
    _refused(tmp_path, "stylegan2", tmp_path / "sg16.pt", match="image_size=16 (the file) vs 256",
             extra=("--model", "stylegan2-256"))
    _refused(tmp_path, "stylegan3", tmp_path / "sg16.pt", match="unknown import format 'stylegan3'")
    (tmp_path / "torn.pth").write_bytes((tmp_path / "sg16.pt").read_bytes()[:300])
    _refused(tmp_path, "stylegan2", tmp_path / "torn.pth", match="not a readable PyTorch checkpoint")


def test_an_existing_folder_is_kept_unless_forced(tmp_path):
    torch.save(official_cyclegan_state(4, 6, stale=False), tmp_path / "g.pth")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    result = genzoo_cli("import", "cyclegan", tmp_path / "g.pth", "--out", tmp_path / "out")
    assert result.exit_code != 0 and "already exists" in result.output
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"
    assert genzoo_cli("import", "cyclegan", tmp_path / "g.pth", "--out", tmp_path / "out", "--force").exit_code == 0
    assert (tmp_path / "out" / "config.json").is_file() and not (tmp_path / "out" / "mine.txt").exists()
