"""Helpers shared by the hub tests: tiny real pretrained folders, file digests, the test Hub server."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKEN = "hf_genzoo_test_token"
TINY = {"g_width": 8, "d_width": 8}


def make_pretrained(path: Path, seed: int, *, ema: bool, **config: int) -> object:
    """save_pretrained of a freshly built tiny DCGAN (with an EMA variant when ``ema``); returns the model."""
    import torch

    import genzoo
    from genzoo.core.pretrained import save_pretrained

    torch.manual_seed(seed)
    model = genzoo.create_model("dcgan-mnist", **{**TINY, **config}).eval()
    ema_state = None
    if ema:
        generator = model.generator.state_dict()
        ema_state = {f"generator.{k}": v + 0.5 for k, v in generator.items() if v.is_floating_point()}
    with torch.no_grad():
        save_pretrained(model, path, ema=ema_state, samples=model.sample(4, generator=torch.Generator().manual_seed(0)))
    return model


def digests(folder: Path) -> dict[str, str]:
    """sha256 of each visible file in a folder (symlinks followed, as the hf cache uses them)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).iterdir()) if p.is_file() and not p.name.startswith(".")}


def same_state(a: dict, b: dict) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@contextlib.contextmanager
def hub_server(root: Path, *extra: str) -> Iterator[str]:
    """Run tests/hub_server.py as a subprocess on a free port; yields its URL."""
    cmd = [sys.executable, str(HERE / "hub_server.py"), "--root", str(root), "--token", TOKEN, *extra]
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "server.log", "w") as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            line = proc.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"hub server did not start: {line}{(root / 'server.log').read_text()}")
            yield line.split()[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
