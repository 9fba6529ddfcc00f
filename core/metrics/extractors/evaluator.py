"""Zoo-trained evaluators: small classifiers whose penultimate features measure MNIST-scale data.

ImageNet's Inception knows nothing of 28 x 28 grey digits: FID measured with it on MNIST
mostly reflects the upsampling, not the digits. A LeNet trained on MNIST (or a small ResNet
on CIFAR-10) is the standard substitute. It is trained once per data set with
``genzoo evaluator train DATA``, tested on the held-out split, and stored as a pretrained
folder (config.json with its test accuracy, model.safetensors, a README card) whose weights'
sha256 enters every score's protocol, so two machines with different evaluators never
compare numbers by accident.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core.atomic import atomic_dir, sha256_file
from genzoo.core.checkpoint import load_checkpoint, save_checkpoint
from genzoo.core.data.imageset import images_digest as images_sha256
from genzoo.core.errors import GenzooError
from genzoo.core.tensorfile import load_tensors, save_tensors
from genzoo.core.version import __version__

from .base import FeatureExtractor, match_channels, resize_to, state_dict_sha256
from .defaults import EVALUATORS

CONFIG, WEIGHTS, CARD = "config.json", "model.safetensors", "README.md"


def evaluators_dir() -> Path:
    """$GENZOO_CACHE/evaluators, else ~/.cache/genzoo/evaluators."""
    base = os.environ.get("GENZOO_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "genzoo") / "evaluators"


class LeNet(nn.Module):
    """LeNet-5 shape with ReLU and max-pooling: 28 x 28 grey -> 128-d features -> classes."""

    def __init__(self, channels: int = 1, classes: int = 10, features: int = 128) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.fc1 = nn.Linear(64 * 5 * 5, features)
        self.fc2 = nn.Linear(features, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.skip(x))


class SmallResNet(nn.Module):
    """A ResNet with three stages (32, 64, 128 wide) for 32 x 32 RGB: 128-d pooled features."""

    def __init__(self, channels: int = 3, classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.stages = nn.Sequential(_Block(width, width, 1), _Block(width, 2 * width, 2),
                                    _Block(2 * width, 4 * width, 2))
        self.fc2 = nn.Linear(4 * width, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean((2, 3))


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(width, width), _conv_bn(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet9(nn.Module):
    """The DAWNBench ResNet-9 shape (Page 2018) at ``width`` (w, 2w, 4w, 8w; 64 in the original).

    It is the fast CIFAR-10 classifier: three pooled stages and two residual blocks reach
    90+ % test accuracy in a few dozen epochs, which on a CPU is the difference between an
    evaluator users can afford to remake and one they cannot. Features: 8w-d, max-pooled.
    """

    def __init__(self, channels: int = 3, classes: int = 10, width: int = 32) -> None:
        super().__init__()
        w = width
        self.prep = _conv_bn(channels, w)
        self.layer1 = nn.Sequential(_conv_bn(w, 2 * w), nn.MaxPool2d(2), _Residual(2 * w))
        self.layer2 = nn.Sequential(_conv_bn(2 * w, 4 * w), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(_conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), _Residual(8 * w))
        self.fc2 = nn.Linear(8 * w, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer3(self.layer2(self.layer1(self.prep(x)))).amax((2, 3))


ARCHS = {"lenet": LeNet, "resnet": SmallResNet, "resnet9": ResNet9}
DEFAULT_WIDTH = {"lenet": 128, "resnet": 32, "resnet9": 32}
"""The width an architecture has when a config names none (LeNet: its feature size)."""


class EvaluatorNet(FeatureExtractor):
    """A trained classifier as a feature extractor: inputs in [-1, 1] at its training size."""

    resize_mode = "bilinear, antialias"
    normalize = "[0,1] -> [-1,1]"

    def __init__(self, arch: str, image_size: int, channels: int, classes: int, name: str = "",
                 width: int = 0) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise GenzooError(f"unknown evaluator architecture {arch!r}; known: {', '.join(ARCHS)}.")
        self.arch, self.name, self.input_size, self.channels = arch, name or arch, image_size, channels
        self.width = width or DEFAULT_WIDTH[arch]
        self.net = ARCHS[arch](channels, classes, self.width)
        self.feature_dim = self.net.fc2.in_features

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x, self.last_channel_rule = match_channels(images.float() / 255.0, self.channels)
        x = resize_to(x, self.input_size, "bilinear", antialias=True)
        return x * 2 - 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.net.features(x)
        return f, self.net.fc2(f)


def _normalise(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1)


@torch.no_grad()
def accuracy(model: EvaluatorNet, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for x, y in zip(images.split(batch), labels.split(batch)):
        correct += (model(model.preprocess(x))[1].argmax(1) == y).sum().item()
    return correct / max(1, len(labels))


@dataclass
class EvaluatorRecipe:
    """How an evaluator is trained. Its config records the recipe whole, so shipped weights can be remade
    and compared with a user's: the same recipe on the same data gives the same network up to the
    non-determinism of the CPU's kernels."""

    arch: str = "lenet"
    width: int = 0
    """Channels of the first stage (LeNet: feature size); 0: the architecture's default."""
    epochs: int = 3
    steps: int = 0
    """Optimisation steps; 0: ``epochs`` passes over the data."""
    batch_size: int = 128
    optimizer: str = "adam"
    """adam, or sgd (Nesterov momentum)."""
    lr: float = 2e-3
    """Peak learning rate of the one-cycle schedule."""
    momentum: float = 0.9
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    logit_scale: float = 1.0
    """Factor on the logits while training (0.125 in the fast-CIFAR ResNet-9): the softmax stays soft while
    the last layer is young, so early steps shape the features rather than saturate the classifier. It is
    folded into the last layer when training ends, so the saved network is the plain architecture."""
    crop: int = 0
    """Random-crop augmentation: pad by this many (reflected) pixels and crop back; 0: off."""
    flip: bool = False
    """Random horizontal flips (for photos; digits are not mirror-symmetric in meaning)."""
    warmup: float = 0.15
    """Share of the steps spent raising the learning rate (one-cycle, linear)."""
    precision: str = "fp32"
    """fp32, or bf16 (autocast): 3x faster on CPUs with AMX/AVX512-BF16; tests and features stay fp32."""
    seed: int = 0

    def check(self) -> None:
        problems = [f"{name} must be positive" for name in ("batch_size", "lr", "logit_scale")
                    if getattr(self, name) <= 0]
        problems += [f"{name} must not be negative" for name in ("width", "epochs", "steps", "crop", "weight_decay")
                     if getattr(self, name) < 0]
        if not self.epochs and not self.steps:
            problems.append("epochs or steps must be positive")
        if self.arch not in ARCHS:
            problems.append(f"arch must be one of {', '.join(ARCHS)}")
        if self.optimizer not in ("adam", "sgd"):
            problems.append("optimizer must be adam or sgd")
        if self.precision not in ("fp32", "bf16"):
            problems.append("precision must be fp32 or bf16")
        if not 0 <= self.label_smoothing < 1 or not 0 < self.warmup < 1:
            problems.append("label_smoothing must lie in [0, 1) and warmup in (0, 1)")
        if problems:
            raise GenzooError(f"evaluator recipe: {'; '.join(problems)}.")


def random_crop(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Each image shifted by up to ``pad`` pixels each way, the border reflected (one gather per batch)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]


def _augment(x: torch.Tensor, recipe: EvaluatorRecipe, gen: torch.Generator) -> torch.Tensor:
    if recipe.crop:
        x = random_crop(x, recipe.crop, gen)
    if recipe.flip:
        mask = torch.rand(x.shape[0], generator=gen) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    return x


def _autocast(recipe: EvaluatorRecipe) -> Any:
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.precision == "bf16")


def train_evaluator(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                    test_labels: torch.Tensor, *, arch: str = "lenet", classes: int, name: str, steps: int = 2000,
                    batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: Any = None,
                    recipe: EvaluatorRecipe | None = None, checkpoint: str | os.PathLike | None = None,
                    on_epoch: Any = None) -> tuple[EvaluatorNet, dict[str, Any]]:
    """Train a classifier with cross-entropy under a one-cycle schedule; return it and its training record.

    ``recipe`` says how (without one: Adam for ``steps`` steps of ``batch_size`` at ``lr``, flips for RGB
    data). Each epoch is a seeded permutation of the data, so with ``checkpoint`` (a file written after
    every epoch) an interrupted run resumes where it stopped and ends as an uninterrupted one would.
    ``progress(step, loss)`` is called every 100 steps and ``on_epoch(record)`` after every epoch.
    """
    if recipe is None:
        recipe = EvaluatorRecipe(arch=arch, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                 flip=train_images.shape[1] == 3)
    recipe.check()
    torch.manual_seed(recipe.seed)
    model = EvaluatorNet(recipe.arch, train_images.shape[-1], train_images.shape[1], classes, name, recipe.width)
    model.net.to(memory_format=torch.channels_last)
    decay = recipe.weight_decay
    opt = (torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=True,
                           weight_decay=decay) if recipe.optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=decay))
    n = train_images.shape[0]
    per_epoch = max(1, n // recipe.batch_size)
    total = recipe.steps or recipe.epochs * per_epoch
    epochs = -(-total // per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=total, pct_start=recipe.warmup,
                                                anneal_strategy="linear")
    state = {"epoch": 0, "step": 0, "seconds": 0.0, "history": []}
    identity = {"recipe": asdict(recipe), "classes": classes,
                "data": images_sha256(train_images) if checkpoint is not None else ""}
    if checkpoint is not None and Path(checkpoint).is_file():
        state = _resume(Path(checkpoint), identity, model, opt, sched)
    start, loss = time.perf_counter() - state["seconds"], torch.zeros(())
    step = state["step"]
    for epoch in range(state["epoch"], epochs):
        model.train()
        gen = torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
        for b in range(min(per_epoch, total - step)):
            idx = order[b * recipe.batch_size:(b + 1) * recipe.batch_size]
            x = _augment(model.preprocess(train_images[idx]), recipe, gen).contiguous(
                memory_format=torch.channels_last)
            with _autocast(recipe):
                loss = F.cross_entropy(model(x)[1] * recipe.logit_scale, train_labels[idx],
                                       label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None and step % 100 == 0:
                progress(step, loss.item())
        with _autocast(recipe):
            acc = accuracy(model, test_images, test_labels)
        seconds = round(time.perf_counter() - start, 1)
        state["history"].append({"epoch": epoch + 1, "step": step, "loss": round(float(loss.item()), 4),
                                 "test_accuracy": acc, "seconds": seconds})
        if checkpoint is not None:
            save_checkpoint(checkpoint, model=model, ema=None, optimizers={"opt": opt}, schedulers={"sched": sched},
                            counters={**identity, "epoch": epoch + 1, "step": step, "seconds": seconds,
                                      "history": state["history"]})
        if on_epoch is not None:
            on_epoch({**state["history"][-1], "epochs": epochs, "steps": total})
    with torch.no_grad():  # the saved network's logits are the ones it was trained on
        model.net.fc2.weight.mul_(recipe.logit_scale)
        model.net.fc2.bias.mul_(recipe.logit_scale)
    acc = accuracy(model, test_images, test_labels)  # in fp32, as the extractor runs
    record = {"steps": total, "epochs": epochs, "batch_size": recipe.batch_size, "lr": recipe.lr,
              "seed": recipe.seed, "final_loss": float(loss.item()), "train_images": int(n),
              "test_images": len(test_labels), "test_accuracy": acc,
              "train_seconds": round(time.perf_counter() - start, 1), "recipe": asdict(recipe),
              "history": state["history"]}
    model.weights_sha256 = state_dict_sha256(model.state_dict())
    return model.eval(), record


def _resume(path: Path, identity: dict[str, Any], model: EvaluatorNet, opt: torch.optim.Optimizer,
            sched: Any) -> dict[str, Any]:
    """The counters of the checkpoint at ``path``, its state loaded; refused when it is another training's."""
    _, meta = load_tensors(path)
    saved = meta.get("counters", {})
    if {k: saved.get(k) for k in identity} != identity:
        raise GenzooError(f"{path} is the checkpoint of another evaluator training (different recipe or data); "
                          "delete it to start afresh, or rerun with the options it was started with.")
    load_checkpoint(path, model=model, ema=None, optimizers={"opt": opt}, schedulers={"sched": sched})
    return saved


def _card(cfg: dict[str, Any]) -> str:
    acc = cfg["test_accuracy"]
    index = [{"name": cfg["name"], "results": [{"task": {"type": "image-classification"},
                                                "dataset": {"name": cfg["dataset"], "split": "test"},
                                                "metrics": [{"type": "accuracy", "value": acc}]}]}]
    return "\n".join([
        "---", "library_name: genzoo", f"tags: {json.dumps(['genzoo', 'evaluator', cfg['arch']])}",
        f"datasets: {json.dumps([cfg['dataset']])}", f"model-index: {json.dumps(index)}", "---", "",
        f"# {cfg['name']}", "",
        f"A {cfg['arch']} classifier trained on the {cfg['dataset']} train split by `genzoo evaluator train`, "
        f"used as the feature extractor for FID/KID/precision/recall (penultimate {cfg['feature_dim']}-d "
        "features) and the Inception-Score analogue (class probabilities).", "",
        f"**Test accuracy: {acc:.4f}** on {cfg['train']['test_images']} held-out images.", "",
        f"Weights sha256 (tensor content): `{cfg['weights_sha256']}`", "",
        f"Training: {_recipe_line(cfg['train'])}.", "",
        *([f"Data: {cfg['data_origin']}.", ""] if cfg.get("data_origin") else []),
    ])


def _recipe_line(train: dict[str, Any]) -> str:
    r = train.get("recipe") or {"optimizer": "adam", "crop": 0, "flip": False, "label_smoothing": 0.0}
    opt = "SGD (Nesterov)" if r["optimizer"] == "sgd" else "Adam"
    aug = [a for a, on in ((f"random crop (pad {r['crop']})", r["crop"]), ("flips", r["flip"])) if on]
    smooth = f", label smoothing {r['label_smoothing']}" if r["label_smoothing"] else ""
    smooth += f", logit scale {r['logit_scale']}" if r.get("logit_scale", 1.0) != 1.0 else ""
    return (f"{train['steps']} steps ({train.get('epochs', '?')} epochs), batch {train['batch_size']}, {opt} "
            f"lr {train['lr']} (one-cycle){smooth}, augmentation: {', '.join(aug) or 'none'}, seed {train['seed']}")


def save_evaluator(model: EvaluatorNet, directory: str | os.PathLike, *, dataset: str, classes: tuple[str, ...],
                   record: dict[str, Any], data_origin: str = "", float16: bool = False) -> Path:
    """Write the evaluator folder (config, weights, card) whole or not at all.

    ``float16`` stores the floating-point tensors in half precision: half the bytes, for the copies shipped
    inside the package. The network is then the rounded one (it loads into float32 and runs there), so
    ``record["test_accuracy"]`` must be measured on the rounded weights; ``half_precision_weights`` does both.
    """
    state = {k: v.half() if float16 and v.is_floating_point() else v for k, v in model.state_dict().items()}
    cfg = {"kind": "genzoo-evaluator", "name": model.name, "arch": model.arch, "width": model.width,
           "dataset": dataset, "data_origin": data_origin,
           "image_size": model.input_size, "channels": model.channels, "num_classes": model.net.fc2.out_features,
           "classes": list(classes), "feature_dim": model.feature_dim, "test_accuracy": record["test_accuracy"],
           "weights_sha256": state_dict_sha256(state), "train": record, "genzoo_version": __version__}
    with atomic_dir(directory) as tmp:
        (tmp / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        save_tensors(tmp / WEIGHTS, state, {"name": model.name})
        (tmp / CARD).write_text(_card(cfg), encoding="utf-8")
    return Path(directory)


@torch.no_grad()
def half_precision_weights(model: EvaluatorNet, test_images: torch.Tensor, test_labels: torch.Tensor) -> float:
    """Round ``model``'s floating-point weights to float16 in place; return its test accuracy after that."""
    for t in model.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.half())
    return accuracy(model, test_images, test_labels)


SHIPPED_DIR = Path(__file__).resolve().parent / "weights"
"""Evaluators shipped with genzoo: one folder each (config, weights, card) and manifest.json."""
MANIFEST = "manifest.json"
LOCAL = "local:"


def shipped_manifest() -> dict[str, dict[str, Any]]:
    """name -> manifest entry (file, sha256, command, data, test accuracy, date) of every shipped evaluator."""
    path = SHIPPED_DIR / MANIFEST
    if not path.is_file():
        return {}
    return {e["name"]: e for e in json.loads(path.read_text(encoding="utf-8"))["evaluators"]}


def evaluator_folder(name: str, weights: str | None = None) -> tuple[Path, dict[str, Any] | None]:
    """Where the evaluator ``name`` is, and its manifest entry when it is a shipped one.

    The names of the shipped evaluators (lenet-mnist, resnet-cifar10) mean the shipped weights, on every
    install, so their scores compare everywhere. A user's own evaluator is used only when asked for: by its
    folder (as ``name`` or ``weights``) or as ``local:NAME`` (the evaluators dir, where `genzoo evaluator
    train` writes). A name genzoo ships nothing for (e.g. lenet-fashion-mnist) is looked up there too.
    """
    if weights:
        return Path(weights).expanduser(), None
    if name.startswith(LOCAL):
        return evaluators_dir() / name[len(LOCAL):], None
    shipped = shipped_manifest().get(name)
    if shipped is not None:
        return SHIPPED_DIR / shipped["folder"], shipped
    path = Path(name).expanduser()
    return (path, None) if (path / CONFIG).is_file() else (evaluators_dir() / name, None)


def load_evaluator(name: str, *, weights: str | None = None) -> EvaluatorNet:
    """An evaluator by name (shipped, ``local:NAME`` or the evaluators dir) or by the path of its folder."""
    path, shipped = evaluator_folder(name, weights)
    if not (path / CONFIG).is_file():
        bare = name[len(LOCAL):] if name.startswith(LOCAL) else name
        dataset = next((d for d, (_, n) in EVALUATORS.items() if n == bare), "DATA")
        raise GenzooError(f"evaluator {name!r} is not trained yet (looked in {path}); "
                          f"run `genzoo evaluator train {dataset}` first, or pass an evaluator folder.")
    if shipped is not None and sha256_file(path / WEIGHTS) != shipped["sha256"]:
        raise GenzooError(f"the shipped weights {path / WEIGHTS} do not match their sha256 in {MANIFEST}; "
                          "the installation is damaged: reinstall genzoo.")
    cfg = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    if cfg.get("kind") != "genzoo-evaluator":
        raise GenzooError(f"{path / CONFIG} is not a genzoo evaluator config.")
    label = f"{LOCAL}{cfg['name']}" if name.startswith(LOCAL) else cfg["name"]
    model = EvaluatorNet(cfg["arch"], cfg["image_size"], cfg["channels"], cfg["num_classes"], label,
                         cfg.get("width", 0))
    state, _ = load_tensors(path / WEIGHTS)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise GenzooError(f"{path / WEIGHTS} does not match its config: {str(exc).splitlines()[0]}") from None
    model.weights_sha256 = state_dict_sha256(state)
    model.test_accuracy = cfg.get("test_accuracy")
    model.shipped = shipped is not None
    return model.eval()
