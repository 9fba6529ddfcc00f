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
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core.atomic import atomic_dir
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


ARCHS = {"lenet": LeNet, "resnet": SmallResNet}


class EvaluatorNet(FeatureExtractor):
    """A trained classifier as a feature extractor: inputs in [-1, 1] at its training size."""

    resize_mode = "bilinear, antialias"
    normalize = "[0,1] -> [-1,1]"

    def __init__(self, arch: str, image_size: int, channels: int, classes: int, name: str = "") -> None:
        super().__init__()
        if arch not in ARCHS:
            raise GenzooError(f"unknown evaluator architecture {arch!r}; known: {', '.join(ARCHS)}.")
        self.arch, self.name, self.input_size, self.channels = arch, name or arch, image_size, channels
        self.net = ARCHS[arch](channels, classes)
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


def train_evaluator(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                    test_labels: torch.Tensor, *, arch: str, classes: int, name: str, steps: int = 2000,
                    batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: Any = None) -> tuple[
                        EvaluatorNet, dict[str, Any]]:
    """Train a classifier with Adam and cross-entropy; return it and its training record.

    ``progress(step, loss)`` is called every 100 steps when given. Random horizontal flips
    are used for RGB data only (digits and clothes are not mirror-symmetric in meaning).
    """
    torch.manual_seed(seed)
    model = EvaluatorNet(arch, train_images.shape[-1], train_images.shape[1], classes, name)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    n, start, loss = train_images.shape[0], time.perf_counter(), torch.zeros(())
    flip = train_images.shape[1] == 3
    model.train()
    for step in range(steps):
        idx = torch.randint(n, (batch_size,), generator=gen)
        x = model.preprocess(train_images[idx])
        if flip:
            mask = torch.rand(batch_size, generator=gen) < 0.5
            x = torch.where(mask[:, None, None, None], x.flip(-1), x)
        loss = F.cross_entropy(model(x)[1], train_labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, loss.item())
    acc = accuracy(model, test_images, test_labels)
    record = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "final_loss": float(loss.item()),
              "train_images": int(n), "test_images": len(test_labels), "test_accuracy": acc,
              "train_seconds": round(time.perf_counter() - start, 1)}
    model.weights_sha256 = state_dict_sha256(model.state_dict())
    return model.eval(), record


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
        f"Training: {cfg['train']['steps']} steps, batch {cfg['train']['batch_size']}, Adam lr {cfg['train']['lr']} "
        f"(one-cycle), seed {cfg['train']['seed']}.", "",
    ])


def save_evaluator(model: EvaluatorNet, directory: str | os.PathLike, *, dataset: str, classes: tuple[str, ...],
                   record: dict[str, Any]) -> Path:
    cfg = {"kind": "genzoo-evaluator", "name": model.name, "arch": model.arch, "dataset": dataset,
           "image_size": model.input_size, "channels": model.channels, "num_classes": model.net.fc2.out_features,
           "classes": list(classes), "feature_dim": model.feature_dim, "test_accuracy": record["test_accuracy"],
           "weights_sha256": state_dict_sha256(model.state_dict()), "train": record, "genzoo_version": __version__}
    with atomic_dir(directory) as tmp:
        (tmp / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        save_tensors(tmp / WEIGHTS, model.state_dict(), {"name": model.name})
        (tmp / CARD).write_text(_card(cfg), encoding="utf-8")
    return Path(directory)


def load_evaluator(name: str, *, weights: str | None = None) -> EvaluatorNet:
    """An evaluator by name (looked up in the evaluators dir) or by the path of its folder."""
    path = Path(weights or name).expanduser()
    if not (path / CONFIG).is_file():
        path = evaluators_dir() / name
    if not (path / CONFIG).is_file():
        dataset = next((d for d, (_, n) in EVALUATORS.items() if n == name), "DATA")
        raise GenzooError(f"evaluator {name!r} is not trained yet (looked in {path}); "
                          f"run `genzoo evaluator train {dataset}` first, or pass an evaluator folder.")
    cfg = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    if cfg.get("kind") != "genzoo-evaluator":
        raise GenzooError(f"{path / CONFIG} is not a genzoo evaluator config.")
    model = EvaluatorNet(cfg["arch"], cfg["image_size"], cfg["channels"], cfg["num_classes"], cfg["name"])
    state, _ = load_tensors(path / WEIGHTS)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise GenzooError(f"{path / WEIGHTS} does not match its config: {str(exc).splitlines()[0]}") from None
    model.weights_sha256 = state_dict_sha256(state)
    model.test_accuracy = cfg.get("test_accuracy")
    return model.eval()
