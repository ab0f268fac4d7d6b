"""The schema core on small section dataclasses written for these tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from alearn.config.schema import (ConfigError, Invalid, build, closest, describe_type, option,
                                  to_dict)


@dataclass(frozen=True)
class Window:
    """A window."""

    lo: float = option(0.0, doc="lower edge", ge=0.0)
    hi: float = option(1.0, doc="upper edge", gt=0.0, unit="eV")

    def check(self) -> None:
        if self.hi <= self.lo:
            raise Invalid("hi", f"found {self.hi}, expected a value greater than lo ({self.lo})")


@dataclass(frozen=True)
class Alpha:
    kind: Literal["alpha"] = option("alpha", doc="kind")
    width: float = option(1.0, doc="width", gt=0.0)


@dataclass(frozen=True)
class Beta:
    kind: Literal["beta"] = option("beta", doc="kind")
    depth: int = option(2, doc="depth", ge=1)


def plugins() -> dict[str, type]:
    return {"alpha": Alpha, "beta": Beta}


@dataclass(frozen=True)
class Section:
    """Every supported field type."""

    name: str = option(doc="a required name")
    hidden: tuple[int, ...] | Literal["auto"] = option("auto", doc="layers", ge=1)
    weights: dict[str, float] = option(factory=dict, doc="per-element weights", ge=0.0)
    window: Window = option(factory=Window, doc="nested table")
    stages: tuple[Window, ...] = option((), doc="array of tables")
    plugin: Any = option(factory=Alpha, doc="plugin", kinds=plugins)
    path: Path | None = option(None, doc="optional existing file", must_exist=True)
    flag: bool = option(False, doc="a flag")


def make(raw: dict[str, Any], tmp_path: Path | None = None) -> Section:
    file = (tmp_path / "c.toml") if tmp_path is not None else Path("/nowhere/c.toml")
    return build(Section, raw, file=file, path="sec")


def error_of(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        make(raw)
    return info.value


def test_defaults_and_types() -> None:
    value = make({"name": "x"})
    assert value.hidden == "auto" and value.weights == {} and value.window == Window()
    assert value.plugin == Alpha() and value.path is None and value.flag is False
    assert isinstance(make({"name": "x", "window": {"hi": 2}}).window.hi, float)


def test_union_of_list_and_literal() -> None:
    assert make({"name": "x", "hidden": [8, 4]}).hidden == (8, 4)
    error = error_of({"name": "x", "hidden": "atuo"})
    assert error.key == "sec.hidden"
    assert "expected a list of integers or one of 'auto'" in str(error)
    assert "did you mean 'auto'" in str(error)


def test_list_item_bound_names_the_index() -> None:
    error = error_of({"name": "x", "hidden": [8, 0]})
    assert error.key == "sec.hidden[1]"
    assert "found 0, expected a value at least 1" in str(error)


def test_dict_values_are_typed_and_bounded() -> None:
    assert make({"name": "x", "weights": {"H": 1, "O": 0.5}}).weights == {"H": 1.0, "O": 0.5}
    assert error_of({"name": "x", "weights": {"H": "heavy"}}).key == "sec.weights.H"
    assert error_of({"name": "x", "weights": {"H": -1.0}}).key == "sec.weights.H"
    assert "expected a table of numbers" in str(error_of({"name": "x", "weights": [1]}))


def test_nested_check_names_the_nested_key() -> None:
    error = error_of({"name": "x", "window": {"lo": 2.0, "hi": 1.0}})
    assert error.key == "sec.window.hi"
    assert "greater than lo (2.0)" in str(error)


def test_array_of_tables_names_the_element() -> None:
    error = error_of({"name": "x", "stages": [{"hi": 1.0}, {"hi": -2.0}]})
    assert error.key == "sec.stages[1].hi"
    assert "greater than 0.0 eV" in str(error)


def test_plugin_kind_selects_schema_and_defaults_to_default_kind() -> None:
    assert make({"name": "x", "plugin": {"kind": "beta", "depth": 3}}).plugin == Beta(depth=3)
    assert make({"name": "x", "plugin": {"width": 2.0}}).plugin == Alpha(width=2.0)
    error = error_of({"name": "x", "plugin": {"depth": 3}})
    assert error.key == "sec.plugin.depth"
    assert "for kind = 'alpha'" in str(error)


def test_path_is_relative_to_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "data.xyz").write_text("1\n\nH 0 0 0\n")
    assert make({"name": "x", "path": "data.xyz"}, tmp_path).path == tmp_path / "data.xyz"
    with pytest.raises(ConfigError) as info:
        make({"name": "x", "path": "other.xyz"}, tmp_path)
    assert info.value.key == "sec.path"


def test_empty_path_and_bool_for_int_are_rejected() -> None:
    assert "expected a file path" in str(error_of({"name": "x", "path": ""}))
    assert "expected a list of integers" in str(error_of({"name": "x", "hidden": True}))
    assert error_of({"name": "x", "hidden": [True]}).key == "sec.hidden[0]"


def test_error_text_format() -> None:
    error = error_of({"name": 3})
    assert str(error) == "/nowhere/c.toml: [sec.name] found integer 3, expected a string"


def test_long_values_are_shortened_in_messages() -> None:
    message = str(error_of({"name": ["y" * 500]}))
    assert "..." in message and len(message) < 200


def test_to_dict_round_trips() -> None:
    value = make({"name": "x", "hidden": [3], "weights": {"H": 2.0},
                  "stages": [{"lo": 0.1, "hi": 0.2}], "plugin": {"kind": "beta"}})
    assert make(to_dict(value)) == value


def test_describe_type_words() -> None:
    assert describe_type(tuple[float, ...]) == "a list of numbers"
    assert describe_type(int | None) == "an integer (optional)"
    assert describe_type(Literal["a", "b"]) == "one of 'a', 'b'"
    assert describe_type(dict[str, int]) == "a table of integers"


def test_closest_suggests_only_close_words() -> None:
    assert closest("budgett", ["budget", "measure"]) == " (did you mean 'budget'?)"
    assert closest("zzz", ["budget", "measure"]) == ""


def test_unsupported_schema_type_is_a_programming_error() -> None:
    @dataclass(frozen=True)
    class Bad:
        value: complex = option(1j, doc="complex numbers are not TOML")

    with pytest.raises(TypeError, match="not supported"):
        build(Bad, {"value": 1})
