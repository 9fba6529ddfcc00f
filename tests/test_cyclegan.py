"""CycleGAN: the history pool, a short real run on unpaired MNIST <-> inverted MNIST, weights on
disk, exact resume, and the ``genzoo translate`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import genzoo
from genzoo.cli import cli
from genzoo.core.data.transforms import normalize
from genzoo.core.errors import CapabilityError, ConfigError
from genzoo.core.phases import Batch
from genzoo.plugins.cyclegan.model import ImagePool

NAME = "cyclegan-mnist-inverted"
TINY = {"g_width": 8, "n_blocks": 1, "d_width": 8}


@pytest.fixture(scope="module")
def folders(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """200 real MNIST digits as PNGs in A, 200 *other* digits inverted in B (unpaired by construction)."""
    mnist = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=data_root)
    root = tmp_path_factory.mktemp("unpaired")
    for name, images in (("A", mnist.images[:200]), ("B", 255 - mnist.images[200:400])):
        (root / name).mkdir()
        for i, img in enumerate(images):
            Image.fromarray(img[0].numpy()).save(root / name / f"digit_{i:03d}.png")
    return root / "A", root / "B"


@pytest.fixture(scope="module")
def run(folders: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    a, b = folders
    out = tmp_path_factory.mktemp("cg") / "run"
    return genzoo.train(NAME, f"unpaired:{a},{b}", steps=30, out=out, config=TINY,
                        train={"batch_size": 8, "log_every": 5, "seed": 3}, progress=False)


def _domain(folder: Path) -> torch.Tensor:
    return normalize(genzoo.load_data(str(folder), image_size=28, channels=1).images, "minus_one_one")


def _sequential_pool(pool: list, images: torch.Tensor, coins: list, slots: list, size: int) -> torch.Tensor:
    """The official ImagePool.query, one image after another, with the same random draws."""
    out = []
    for img, coin, slot in zip(images, coins, slots):
        if len(pool) < size:
            pool.append(img.clone())
            out.append(img)
        elif coin > 0.5:
            out.append(pool[slot].clone())
            pool[slot] = img.clone()
        else:
            out.append(img)
    return torch.stack(out)


def test_pool_follows_the_official_rule_batch_for_batch() -> None:
    size, pool, reference = 5, ImagePool(5, (1, 2, 2)), []
    torch.manual_seed(0)
    for step in range(25):  # batches of 4 into 5 slots: fills mid-batch, then same-slot collisions
        images = torch.randn(4, 1, 2, 2)
        rng = torch.get_rng_state()
        got = pool.query(images)
        torch.set_rng_state(rng)
        coins, slots = torch.rand(4).tolist(), torch.randint(0, size, (4,)).tolist()
        want = _sequential_pool(reference, images, coins, slots, size)
        assert torch.equal(got, want), f"step {step}"
        assert torch.equal(pool.images[: len(reference)], torch.stack(reference)), f"step {step}"
    assert int(pool.count) == size


def test_pool_mixes_old_and_new_half_the_time_once_full_and_is_seeded() -> None:
    def draws(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(seed)
        pool = ImagePool(50, (1, 1, 1))
        return [pool.query(torch.full((10, 1, 1, 1), float(step)) + torch.arange(10.0).view(-1, 1, 1, 1) / 100)
                for step in range(200)]

    outs = draws(7)
    assert all(torch.equal(o, torch.full((10, 1, 1, 1), float(s)) + torch.arange(10.0).view(-1, 1, 1, 1) / 100)
               for s, o in enumerate(outs[:5])), "while filling, the pool returns its input unchanged"
    later = torch.stack(outs[5:]).view(195, 10)
    old = (later.floor() < torch.arange(5, 200.0).view(-1, 1)).float().mean().item()
    assert 0.45 < old < 0.55, f"once full, about half the returned images should be older ones; got {old:.3f}"
    assert all(torch.equal(x, y) for x, y in zip(outs, draws(7)))
    assert not all(torch.equal(x, y) for x, y in zip(outs, draws(8)))
    x = torch.randn(3, 1, 1, 1)
    assert ImagePool(0, (1, 1, 1)).query(x) is x, "pool_size=0 turns the pool off"


def test_shapes_and_bad_calls() -> None:
    model = genzoo.create_model("cyclegan-32", g_width=8, n_blocks=1, d_width=8)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for direction in ("a2b", "b2a"):
            y = model.translate(x, direction)
            assert y.shape == x.shape and y.abs().max() <= 1
    with pytest.raises(ConfigError, match="a2b or b2a"):
        model.translate(x, "sideways")
    with pytest.raises(CapabilityError, match="cyclegan has no sample"):
        model.require("sample")
    with pytest.raises(ConfigError, match="unpaired:A_DIR,B_DIR"):
        model.g_loss(Batch(x))
    with pytest.raises(ConfigError, match="d_layers"):
        genzoo.create_model("cyclegan-mnist-inverted", d_layers=3)


def test_training_learns_the_inversion(run, folders: tuple[Path, Path]) -> None:
    logs = _metrics(run.run_dir)
    assert all(np.isfinite(v) for row in logs for k, v in row.items() if k.startswith(("g.", "d.")))
    first, last = logs[0], logs[-1]
    for key in ("g.cycle_a", "g.cycle_b"):
        assert last[key] < 0.75 * first[key], f"{key} should fall: {first[key]:.3f} -> {last[key]:.3f}"
    a, b = _domain(folders[0]), _domain(folders[1])
    torch.manual_seed(3)
    untrained = genzoo.create_model(NAME, **TINY).eval()
    trained = run.model.eval()
    with torch.no_grad():
        for direction, src, dst in (("a2b", a, b), ("b2a", b, a)):
            before = (untrained.translate(src, direction).mean() - dst.mean()).abs().item()
            after = (trained.translate(src, direction).mean() - dst.mean()).abs().item()
            assert after < 0.5 * before, f"{direction}: mean-intensity gap to target {before:.3f} -> {after:.3f}"
            bright = (trained.translate(src, direction) > 0).float().mean()
            assert (bright - (dst > 0).float().mean()).abs() < (bright - (src > 0).float().mean()).abs()
    assert int(run.model.pool_a.count) == 50 and run.model.pool_b.images[:50].abs().sum(dim=(1, 2, 3)).min() > 0


def _metrics(run_dir: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_pretrained_round_trip_gives_identical_translations(run, folders: tuple[Path, Path]) -> None:
    loaded = genzoo.create_model(str(run.run_dir))
    a = _domain(folders[0])[:16]
    with torch.no_grad():
        for direction in ("a2b", "b2a"):
            assert torch.equal(loaded.translate(a, direction), run.model.eval().translate(a, direction))
    assert torch.equal(loaded.pool_b.images, run.model.pool_b.images)


def test_resume_is_exact_including_the_history_pools(folders: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = folders
    kw = {"config": {**TINY, "pool_size": 6, "decay_start": 1.0},
          "train": {"batch_size": 4, "log_every": 1, "seed": 1}, "progress": False}
    whole = genzoo.train(NAME, f"unpaired:{a},{b}", steps=4, out=tmp_path / "whole", **kw)
    genzoo.train(NAME, f"unpaired:{a},{b}", steps=2, out=tmp_path / "half", **kw)
    resumed = genzoo.train(resume=tmp_path / "half", steps=4, progress=False)
    assert resumed.step == 4 and int(resumed.model.pool_a.count) == 6
    for (name, x), y in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(x, y), name


def test_translate_cli(run, folders: tuple[Path, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(cli, ["translate", str(run.run_dir), str(folders[0]), "--direction", "a2b",
                              "--out", str(out), "--n", "10"])
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in out.glob("digit_*.png"))
    assert written == [f"digit_{i:03d}.png" for i in range(10)]
    img = np.asarray(Image.open(out / "digit_000.png"))
    assert img.shape == (28, 28) and img.mean() > 127, "a2b turns a dark-background digit into a bright one"
    grid = np.asarray(Image.open(out / "translation-grid.png"))
    assert grid.shape == (2 * 30 + 2, 10 * 30 + 2)
    assert grid[2:30, 2:30].mean() < 127 < grid[32:60, 2:30].mean(), "inputs above, translations below"

    bad = runner.invoke(cli, ["translate", "dcgan", str(folders[0]), "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "dcgan has no translate" in bad.output
    bad = runner.invoke(cli, ["translate", str(run.run_dir), str(folders[0]), "--direction", "up",
                              "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "a2b" in bad.output
    bad = runner.invoke(cli, ["translate", str(run.run_dir), str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "does not exist" in bad.output and "Traceback" not in bad.output
