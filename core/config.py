"""Typed dataclass configs: documented fields, validation, and overrides from text.

Every config in genzoo (a model family's, the trainer's, the preprocessing) is a plain
dataclass. Fields carry their documentation in ``metadata["help"]`` so that ``genzoo info``
can show it without importing torch, and overrides coming from zoo.toml or ``--set
key=value`` are checked against the field's declared type here, once, with a message that
names the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import warnings
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from .errors import ConfigError, did_you_mean

T = TypeVar("T")


def option(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, added_later: bool = False) -> Any:
    """A dataclass field with documentation (and optional allowed values) attached.

    ``added_later`` marks a field added after configs without it were saved or keyed, whose
    default does what the code did before it existed: ``config_identity`` leaves it out at that
    default, so benchmark cells keyed before it was added keep their keys.
    """
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    if added_later:
        meta["added_later"] = True
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Retired:
    """A field older versions wrote and this one no longer has (a config's ``retired`` names them).

    Reading it is not an error, so folders saved before the change still load: the value is
    dropped, with a FutureWarning built from ``note`` (``{value}`` is the saved value) unless
    it is one of ``same_as_now``, values that mean what the current code does anyway.
    """

    note: str
    same_as_now: tuple[Any, ...] = ()


def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations (configs use ``from __future__ import annotations``)."""
    return typing.get_type_hints(cls)


def type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = get_args(tp)
        inner = type_name(args[0]) if args else "Any"
        return f"{origin.__name__}[{inner}, ...]" if origin is tuple else f"list[{inner}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert ``value`` (text from the command line, or a TOML/JSON value) to type ``tp``.

    Raises ConfigError naming ``where`` (e.g. ``dcgan.latent_dim``) when it does not fit.
    """
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        for a in allowed:
            if value == a or (isinstance(value, str) and str(a) == value):
                return a
        raise ConfigError(f"{where}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}.")
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in {"none", "null"})):
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(value, a, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}={value!r} does not fit {type_name(tp)}.")
    if origin in (tuple, list):
        args = get_args(tp)
        item_tp = args[0] if args else Any
        if isinstance(value, str):
            text = value.strip().strip("()[]")
            items: list[Any] = [s.strip() for s in text.split(",") if s.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ConfigError(f"{where}={value!r} must be a comma-separated list of {type_name(item_tp)}.")
        if origin is tuple and len(args) > 1 and args[1] is not Ellipsis:
            if len(items) != len(args):
                raise ConfigError(f"{where}={value!r} needs exactly {len(args)} values.")
            return tuple(coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(items, args)))
        out = [coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(items)]
        return tuple(out) if origin is tuple else out
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ConfigError(f"{where}={value!r} must be true or false.")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}={value!r} must be an integer.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(f"{where}={value!r} must be an integer.")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}={value!r} must be a number.")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}={value!r} must be text.")
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value, where=where)
    return value


def from_dict(cls: type[T], data: dict[str, Any], *, where: str, base: T | None = None, saved: bool = False) -> T:
    """Build ``cls`` from ``data`` (on top of ``base`` when given), checking every key and type.

    ``saved`` says ``data`` was read from a file an earlier genzoo may have written (a pretrained
    folder's config.json, a run's run.json): only there is a retired field dropped; anywhere else
    it is refused with the note that says where it went.
    """
    known = fields_of(cls)
    hints = field_types(cls)
    values = dataclasses.asdict(base) if base is not None else {}
    retired: dict[str, Retired] = getattr(cls, "retired", {})
    for key, raw in data.items():
        if key not in known and key in retired:
            if not saved:
                raise ConfigError(f"{where}: {key} is no longer a config field: {retired[key].note.format(value=raw)}.")
            if raw not in retired[key].same_as_now:
                warnings.warn(f"{where}: {key}={raw!r} is ignored: {retired[key].note.format(value=raw)}.",
                              FutureWarning, stacklevel=2)
            continue
        if key not in known:
            raise ConfigError(
                f"{where} has no field {key!r}.{did_you_mean(key, known)} "
                f"Fields: {', '.join(known)}."
            )
        value = coerce(raw, hints[key], f"{where}.{key}")
        choices = known[key].metadata.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(f"{where}.{key}={value!r} is not allowed; choose one of {choices}.")
        values[key] = value
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict (tuples become lists)."""
    return dataclasses.asdict(cfg)


def config_identity(cfg: Any) -> dict[str, Any]:
    """``to_dict`` without the ``added_later`` fields left at their defaults: what a result's key hashes, so
    adding a feature that is off by default does not orphan results computed before it existed."""
    out = to_dict(cfg)
    for f in dataclasses.fields(cfg):
        if f.metadata.get("added_later") and getattr(cfg, f.name) == _default(f):
            del out[f.name]
    return out


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def parse_assignments(items: typing.Iterable[str]) -> dict[str, str]:
    """``["a=1", "train.lr=2e-4"]`` -> ``{"a": "1", "train.lr": "2e-4"}`` with a clear error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} must look like key=value (e.g. --set latent_dim=64).")
        out[key.strip()] = value.strip()
    return out


def check(condition: bool, where: str, value: Any, allowed: str) -> None:
    """Validation helper for ``__post_init__``: raise a ConfigError naming field, value and rule."""
    if not condition:
        raise ConfigError(f"{where}={value!r} is not allowed: {allowed}.")
