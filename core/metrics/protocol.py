"""Protocols: everything that decides what number a metric gives, stamped on every score.

FID on MNIST moves by whole units with the extractor, its weights, the resize filter, the
grey-to-RGB rule, the sample counts and the real split; numbers measured under different
protocols are not comparable, yet tables routinely put them in one column. A ``Score``
therefore never travels without its ``Protocol``, and ``differences``/``comparable`` say
exactly which fields disagree before two scores are ranked together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from genzoo.core.version import __version__

# Fields that name the software, not the measurement: they are reported but do not make
# two scores incomparable on their own.
SOFT_FIELDS = ("genzoo_version",)


@dataclass(frozen=True)
class Protocol:
    metric: str
    extractor: str = ""
    extractor_sha256: str = ""
    input_size: int = 0  # side length fed to the extractor
    resize: str = ""  # how images reach input_size, e.g. "bilinear (pytorch-fid)"
    normalize: str = ""  # e.g. "[0,1] -> [-1,1]"
    channels: str = ""  # e.g. "repeat-gray-to-rgb", "gray", "rgb"
    fake_format: str = "uint8"  # generated images are quantised to 8 bits like saved PNGs
    real_data: str = ""
    real_split: str = ""
    n_real: int = 0
    n_fake: int = 0
    seed: int = 0
    params: tuple[tuple[str, Any], ...] = ()  # metric parameters: k, KID subsets and subset size, IS splits
    genzoo_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["params"] = dict(self.params)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        params = dict(data.get("params", {}))
        if data.get("metric") == "bpd":
            # Scores written before 2026-12-07 named the scored model here, which made two models'
            # bits/dim look incomparable: it says what was measured, not how.
            params.pop("model", None)
        kw["params"] = tuple(sorted(params.items()))
        return cls(**kw)

    def with_params(self, **params: Any) -> Protocol:
        return dataclasses.replace(self, params=tuple(sorted({**dict(self.params), **params}.items())))


@dataclass(frozen=True)
class Score:
    """One number, its name (fid, kid, precision, ...) and the protocol that produced it."""

    name: str
    value: float
    protocol: Protocol
    extra: dict[str, float] = field(default_factory=dict)  # e.g. {"std": ...}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, **self.extra, "protocol": self.protocol.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        extra = {k: v for k, v in data.items() if k not in ("name", "value", "protocol")}
        return cls(data["name"], float(data["value"]), Protocol.from_dict(data["protocol"]), extra)


def differences(a: Protocol | Score, b: Protocol | Score) -> list[str]:
    """Names of the protocol fields (and metric parameters) on which ``a`` and ``b`` differ."""
    pa = a.protocol if isinstance(a, Score) else a
    pb = b.protocol if isinstance(b, Score) else b
    out = [f.name for f in dataclasses.fields(Protocol)
           if f.name != "params" and getattr(pa, f.name) != getattr(pb, f.name)]
    ka, kb = dict(pa.params), dict(pb.params)
    out += [f"params.{k}" for k in sorted(set(ka) | set(kb)) if ka.get(k) != kb.get(k)]
    return out


def comparable(a: Protocol | Score, b: Protocol | Score) -> bool:
    """True when the two were measured the same way (software version aside)."""
    return not [d for d in differences(a, b) if d not in SOFT_FIELDS]


def explain(a: Protocol | Score, b: Protocol | Score) -> str:
    """One line for users: which fields differ and their values, or '' when they agree."""
    pa = (a.protocol if isinstance(a, Score) else a).to_dict()
    pb = (b.protocol if isinstance(b, Score) else b).to_dict()
    parts = []
    for name in differences(a, b):
        if name.startswith("params."):
            key = name.split(".", 1)[1]
            parts.append(f"{name}: {pa['params'].get(key)!r} vs {pb['params'].get(key)!r}")
        else:
            parts.append(f"{name}: {pa[name]!r} vs {pb[name]!r}")
    return "; ".join(parts)


def model_index(scores: Iterable[Score], *, data: str, split: str, name: str) -> list[dict[str, Any]]:
    """Hugging Face ``model-index`` entries for ``scores`` measured against ``data``'s ``split``:
    each metric with its protocol in ``args``, so a card says how every number was made."""
    return [{"name": name, "results": [{
        "task": {"type": "unconditional-image-generation"},
        "dataset": {"name": data, "type": data, "split": split},
        "metrics": [{"type": s.name, "value": s.value, "args": s.protocol.to_dict()} for s in scores],
    }]}]
