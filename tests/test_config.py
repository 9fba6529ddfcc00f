"""Typed configs: values from text and TOML are checked against the dataclass, with messages
that name the field, the value and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from genzoo.core.config import check, coerce, config_identity, from_dict, option, parse_assignments, to_dict
from genzoo.core.errors import ConfigError
from genzoo.core.recipe import TrainConfig


@dataclass(frozen=True)
class Example:
    width: int = option(8, "w")
    rate: float = option(0.5, "r")
    kind: Literal["a", "b"] = option("a", "k")
    flag: bool = option(False, "f")
    sizes: tuple[int, ...] = option((1, 2), "s")
    name: str | None = option(None, "n")
    size: int = option(28, "px", choices=(28, 32))

    def __post_init__(self) -> None:
        check(self.width > 0, "width", self.width, "positive")


def test_text_values_are_coerced_to_field_types() -> None:
    cfg = from_dict(Example, {"width": "16", "rate": "1e-3", "kind": "b", "flag": "yes", "sizes": "3,4,5",
                              "name": "none", "size": "32"}, where="ex")
    assert cfg == Example(16, 1e-3, "b", True, (3, 4, 5), None, 32)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"widht": 3}, "ex has no field 'widht'. Did you mean: width?"),
        ({"width": "many"}, "ex.width='many' must be an integer"),
        ({"width": True}, "ex.width=True must be an integer"),
        ({"kind": "c"}, "ex.kind='c' is not allowed; choose one of 'a', 'b'"),
        ({"flag": "maybe"}, "ex.flag='maybe' must be true or false"),
        ({"size": 30}, "ex.size=30 is not allowed; choose one of (28, 32)"),
        ({"width": -1}, "width=-1 is not allowed: positive"),
    ],
)
def test_bad_values_name_field_value_and_rule(data: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(Example, data, where="ex")
    assert fragment in str(err.value)


def test_overrides_apply_on_top_of_a_base() -> None:
    base = from_dict(Example, {"width": 4}, where="ex")
    assert from_dict(Example, {"rate": 0.1}, where="ex", base=base) == Example(width=4, rate=0.1)


def test_assignments_parse_and_reject_malformed_items() -> None:
    assert parse_assignments(["a=1", " train.lr = 2e-4 "]) == {"a": "1", "train.lr": "2e-4"}
    with pytest.raises(ConfigError, match="must look like key=value"):
        parse_assignments(["oops"])


def test_train_config_validates_ranges() -> None:
    with pytest.raises(ConfigError, match="train.ema_decay=1.5"):
        TrainConfig(ema_decay=1.5)
    assert coerce("0", int, "x") == 0


@dataclass(frozen=True)
class Grown:
    width: int = option(8, "w")
    twin: bool = option(False, "a feature added later, off by default", added_later=True)
    scales: list[float] = option([1.0], "another, whose default is made per instance", added_later=True)


def test_fields_added_later_leave_the_identity_only_at_their_defaults() -> None:
    assert config_identity(Grown()) == {"width": 8}  # what a config saved before the two fields hashed to
    assert config_identity(Grown(width=8, twin=True)) == {"width": 8, "twin": True}
    assert config_identity(Grown(scales=[1.0, 0.5])) == {"width": 8, "scales": [1.0, 0.5]}
    assert to_dict(Grown()) == {"width": 8, "twin": False, "scales": [1.0]}  # saved configs keep every field
    assert config_identity(Example()) == to_dict(Example())
