"""Declarative schema for TOML sections: frozen dataclasses whose fields carry their own docs.

A section is a frozen dataclass.  Each field is declared with :func:`option`, which records the
documentation, unit and bounds used both for validation and for the generated reference
(``docs/config.md``).  :func:`build` turns a raw TOML table into an instance, raising
:class:`ConfigError` that names the file, the dotted key path, what was found and what was
expected (with the closest valid key for a typo).

Supported field types: ``int``, ``float``, ``str``, ``bool``, :class:`pathlib.Path`,
``Literal[...]``, ``tuple[T, ...]``, ``dict[str, T]``, ``T | None`` and nested section
dataclasses.  A field whose metadata names ``kinds`` is a *plugin* field: the table's ``kind``
key selects the plugin's own dataclass from that mapping (a plain string is short for a table
with only ``kind``); the mappings come from :mod:`alearn.registry`.

Cross-field rules live in a section's ``check(self) -> None`` method, which raises
:class:`Invalid` with the offending key (relative to the section).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from alearn.errors import UserError

T = TypeVar("T")

_UNSET = dataclasses.MISSING


class ConfigError(UserError):
    """A configuration problem, phrased for the person who wrote the file."""

    def __init__(self, file: str | Path | None, key: str, message: str) -> None:
        self.file = str(file) if file is not None else "<config>"
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: [{self.key}]" if self.key else f"{self.file}:"
        return f"{where} {self.message}"


class Invalid(Exception):
    """Raised by a section's ``check`` method; ``key`` is relative to the section."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


def option(
    default: Any = _UNSET,
    *,
    doc: str,
    unit: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    must_exist: bool = False,
    structures: bool = False,
    kinds: Callable[[], Mapping[str, type]] | None = None,
    factory: Callable[[], Any] | None = None,
    safe_to_change: bool = False,
) -> Any:
    """Declare a field of a section.

    ``must_exist`` makes a path relative to the TOML file and requires it to exist.
    ``structures`` additionally requires the file to parse with ``ase.io.read(path, index=":")``
    and to hold at least one structure with atoms.
    ``kinds`` turns the field into a plugin field (see module docstring).
    ``safe_to_change`` marks keys a running campaign may change with ``--allow-changes``.
    """
    meta = {
        "doc": doc, "unit": unit, "gt": gt, "ge": ge, "lt": lt, "le": le,
        "must_exist": must_exist or structures, "structures": structures, "kinds": kinds, "safe_to_change": safe_to_change,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def section_fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of a section dataclass with their resolved type hints."""
    hints = get_type_hints(cls, include_extras=False)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def describe_type(tp: Any) -> str:
    """Human wording of an annotation, as used in error messages and docs."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "nothing"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        inner = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(inner) + (" (optional)" if type(None) in args else "")
    if origin is tuple:
        return f"a list of {_plural(args[0])}"
    if origin is dict:
        return f"a table of {_plural(args[1])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             Path: "a file path (string)"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(tp: Any) -> str:
    plurals = {int: "integers", float: "numbers", str: "strings", bool: "booleans",
               Path: "file paths (strings)"}
    if tp in plurals:
        return plurals[tp]
    if dataclasses.is_dataclass(tp):
        return "tables"
    return f"values ({describe_type(tp)})"


def closest(word: str, options: typing.Iterable[str]) -> str:
    """``' (did you mean 'x'?)'`` when a close match exists, else ``''``."""
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class _Builder:
    """Walks a raw TOML table against a section dataclass."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.base = file.parent if file is not None else Path.cwd()

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, key, message)

    def section(self, cls: type[T], raw: Any, path: str, where: str = "") -> T:
        if not isinstance(raw, Mapping):
            raise self.error(path, f"found {_show(raw)}, expected a table")
        specs = section_fields(cls)
        known = [f.name for f, _ in specs]
        for key in raw:
            if key not in known:
                what = "section" if not path else "key"
                raise self.error(_join(path, key), f"is not a valid {what}" + (where or " here")
                                 + closest(key, known) + f"; valid {what}s: {', '.join(known)}")
        values = {}
        for f, tp in specs:
            key = _join(path, f.name)
            if f.name in raw:
                values[f.name] = self.value(tp, raw[f.name], key, f)
            elif f.default is _UNSET and f.default_factory is _UNSET:
                raise self.error(key, f"is required: expected {_expected(f, tp)}"
                                 + _doc_hint(f))
        instance = cls(**values)
        check = getattr(instance, "check", None)
        if check is not None:
            try:
                check()
            except Invalid as exc:
                raise self.error(_join(path, exc.key), exc.message) from None
        return instance

    def value(self, tp: Any, raw: Any, key: str, f: dataclasses.Field) -> Any:
        meta = f.metadata
        if meta.get("kinds") is not None:
            return self.plugin(meta["kinds"](), raw, key, _default_kind(f))
        value = self.typed(tp, raw, key)
        self.bounds(value, key, meta)
        if meta.get("must_exist") and value is not None:
            self.existing(value, key, parse=bool(meta.get("structures")))
        return value

    def plugin(self, kinds: Mapping[str, type], raw: Any, key: str,
               default: str | None) -> Any:
        if isinstance(raw, str):         # key = "name" is short for key = {kind = "name"}
            raw = {"kind": raw}
        if not isinstance(raw, Mapping):
            raise self.error(key, f"found {_show(raw)}, expected a table with a 'kind' key "
                             "(or a string naming the kind)")
        kind = raw.get("kind", default)
        choices = ", ".join(repr(k) for k in sorted(kinds))
        if kind is None:
            raise self.error(_join(key, "kind"), f"is required: expected one of {choices}")
        if not isinstance(kind, str) or kind not in kinds:
            hint = closest(kind, kinds) if isinstance(kind, str) else ""
            raise self.error(_join(key, "kind"), f"found {_show(kind)}, expected one of "
                             f"{choices}{hint}")
        try:
            schema = kinds[kind]
        except UserError as exc:  # a registered plugin that cannot be imported
            raise self.error(_join(key, "kind"), str(exc)) from None
        body = dict(raw)
        body.setdefault("kind", kind)
        return self.section(schema, body, key, where=f" for kind = {kind!r}")

    def typed(self, tp: Any, raw: Any, key: str) -> Any:
        origin, args = get_origin(tp), get_args(tp)
        if origin in (Union, types.UnionType):
            return self.union(args, raw, key)
        if origin is Literal:
            if not any(raw == a and type(raw) is type(a) for a in args):
                raise self.error(key, f"found {_show(raw)}, expected {describe_type(tp)}"
                                 + (closest(raw, map(str, args)) if isinstance(raw, str) else ""))
            return raw
        if origin is tuple:
            if not isinstance(raw, list):
                raise self.error(key, f"found {_show(raw)}, expected {describe_type(tp)}")
            return tuple(self.typed(args[0], item, f"{key}[{i}]") for i, item in enumerate(raw))
        if origin is dict:
            if not isinstance(raw, Mapping):
                raise self.error(key, f"found {_show(raw)}, expected {describe_type(tp)}")
            return {str(k): self.typed(args[1], v, _join(key, str(k))) for k, v in raw.items()}
        if dataclasses.is_dataclass(tp):
            return self.section(tp, raw, key)
        return self.scalar(tp, raw, key)

    def union(self, args: tuple, raw: Any, key: str) -> Any:
        if raw is None and type(None) in args:
            return None
        errors = []
        for alternative in (a for a in args if a is not type(None)):
            try:
                return self.typed(alternative, raw, key)
            except ConfigError as exc:
                errors.append((alternative, exc))
        shaped = [exc for alternative, exc in errors if _same_shape(alternative, raw)]
        if len(errors) == 1 or len(shaped) == 1:
            raise (shaped or [errors[0][1]])[0]
        expected = " or ".join(describe_type(a) for a in args if a is not type(None))
        words = [str(w) for a in args if get_origin(a) is Literal for w in get_args(a)]
        hint = closest(raw, words) if isinstance(raw, str) else ""
        raise self.error(key, f"found {_show(raw)}, expected {expected}{hint}")

    def scalar(self, tp: Any, raw: Any, key: str) -> Any:
        ok = {
            bool: isinstance(raw, bool),
            int: isinstance(raw, int) and not isinstance(raw, bool),
            float: isinstance(raw, (int, float)) and not isinstance(raw, bool),
            str: isinstance(raw, str),
            Path: isinstance(raw, str) and raw != "",
        }
        if tp not in ok:
            raise TypeError(f"schema type {tp!r} of {key} is not supported")
        if not ok[tp]:
            raise self.error(key, f"found {_show(raw)}, expected {describe_type(tp)}")
        if tp is float:
            if not math.isfinite(raw):
                raise self.error(key, f"found {raw!r}, expected a finite number")
            return float(raw)
        if tp is Path:
            path = Path(raw).expanduser()
            return path if path.is_absolute() else self.base / path
        return raw

    def bounds(self, value: Any, key: str, meta: Mapping[str, Any]) -> None:
        if isinstance(value, tuple):
            items = [(f"{key}[{i}]", item) for i, item in enumerate(value)]
        elif isinstance(value, dict):
            items = [(_join(key, k), item) for k, item in value.items()]
        else:
            items = [(key, value)]
        for where, item in items:
            if not isinstance(item, (int, float)) or isinstance(item, bool):
                continue
            for name, fails, words in (("gt", lambda v, b: v <= b, "greater than"),
                                       ("ge", lambda v, b: v < b, "at least"),
                                       ("lt", lambda v, b: v >= b, "less than"),
                                       ("le", lambda v, b: v > b, "at most")):
                bound = meta.get(name)
                if bound is not None and fails(item, bound):
                    unit = f" {meta['unit']}" if meta.get("unit") else ""
                    raise self.error(where, f"found {item!r}, expected a value {words} "
                                            f"{bound}{unit}")

    def existing(self, value: Any, key: str, parse: bool) -> None:
        paths = value if isinstance(value, tuple) else (value,)
        for index, path in enumerate(paths):
            where = f"{key}[{index}]" if isinstance(value, tuple) else key
            if isinstance(path, Path) and not path.exists():
                raise self.error(where, f"file {str(path)!r} does not exist (relative paths are "
                                        "taken from the directory of the TOML file)")
            if parse and isinstance(path, Path):
                problem = structure_file_problem(path)
                if problem:
                    raise self.error(where, problem)


def structure_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable file of structures, or ``None`` when it is."""
    if path.is_dir():
        return f"{str(path)!r} is a directory, expected a file of structures"
    try:
        from ase.io import read

        frames = read(path, index=":")
    except Exception as exc:  # ASE raises many types for unreadable files
        return (f"file {str(path)!r} could not be read as structures by ase.io.read: "
                f"{type(exc).__name__}: {exc}".rstrip(": "))
    if not frames:
        return f"file {str(path)!r} holds no structures"
    if any(len(atoms) == 0 for atoms in frames):
        return f"file {str(path)!r} holds a structure without atoms"
    return None


def _default_kind(f: dataclasses.Field) -> str | None:
    """The ``kind`` of a plugin field's default, used when the table leaves ``kind`` out."""
    if f.default_factory is not _UNSET:
        default = f.default_factory()
    else:
        default = None if f.default is _UNSET else f.default
    kind = getattr(default, "kind", None)
    return kind if isinstance(kind, str) else None


def _show(raw: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(raw), type(raw).__name__)
    text = ("true" if raw else "false") if isinstance(raw, bool) else repr(raw)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


def _same_shape(tp: Any, raw: Any) -> bool:
    """Whether ``raw`` has the TOML shape of ``tp`` (a list for a tuple, a table for a dict or
    section), so that alternative's own error is the one worth reporting."""
    origin = get_origin(tp)
    if isinstance(raw, list):
        return origin is tuple
    if isinstance(raw, Mapping):
        return origin is dict or dataclasses.is_dataclass(tp)
    return False


def _expected(f: dataclasses.Field, tp: Any) -> str:
    kinds = f.metadata.get("kinds")
    if kinds is None:
        return describe_type(tp)
    return "a table whose 'kind' is one of " + ", ".join(repr(k) for k in sorted(kinds()))


def _doc_hint(f: dataclasses.Field) -> str:
    doc = f.metadata.get("doc")
    return f" ({doc})" if doc else ""


def build(cls: type[T], raw: Mapping[str, Any], *, file: str | Path | None = None,
          path: str = "") -> T:
    """Validate ``raw`` against the section dataclass ``cls`` and return the frozen instance."""
    return _Builder(Path(file) if file is not None else None).section(cls, raw, path)


def to_dict(value: Any) -> Any:
    """A section instance back to plain TOML-compatible data (paths as strings, None dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, tuple):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dict(v) for k, v in value.items() if v is not None}
    if isinstance(value, Path):
        return str(value)
    return value
