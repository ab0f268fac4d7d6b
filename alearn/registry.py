"""One registry mechanism for every role of the loop: plugins found through entry-point groups.

Each role (reference calculator, surrogate, uncertainty measure, selector, augmenter,
explorer) is a :class:`Role` with its entry-point group.  A plugin is a class with a nested
frozen ``Params`` dataclass (its TOML schema, with a ``kind: Literal["name"]`` field),
constructed as ``cls(params)``, and registered in its distribution's metadata::

    [project.entry-points."alearn.measures"]
    my_measure = "my_package.measures:MyMeasure"

:func:`plugins` reads the group each time it is called (nothing is cached between calls, so a
distribution added to ``sys.path`` is seen by the next call and one removed is forgotten).
Plugins are imported lazily: listing the kinds imports nothing, and a plugin that fails to
import raises :class:`PluginLoadError` (a :class:`UserError`) naming it only when that plugin
is asked for; every other kind keeps working.  :func:`schemas` gives ``kind → Params``, from
which the campaign schema, ``alearn validate`` and ``docs/config.md`` are assembled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from alearn.errors import UserError


@dataclass(frozen=True)
class Role:
    """A role of the loop: its entry-point group, its TOML section and its name in messages."""

    group: str        # entry-point group, e.g. "alearn.measures"
    section: str      # where its kind is chosen, e.g. "select.measure"
    noun: str         # "uncertainty measure"


CALCULATORS = Role("alearn.calculators", "reference", "reference calculator")
SURROGATES = Role("alearn.surrogates", "model", "surrogate")
MEASURES = Role("alearn.measures", "select.measure", "uncertainty measure")
SELECTORS = Role("alearn.selectors", "select.selector", "selector")
AUGMENTERS = Role("alearn.augmenters", "augment", "augmenter")
EXPLORERS = Role("alearn.explorers", "explore", "explorer")
ROLES = (CALCULATORS, SURROGATES, MEASURES, SELECTORS, AUGMENTERS, EXPLORERS)


class PluginLoadError(UserError):
    """A registered plugin whose module or class cannot be loaded."""


class Registry(Mapping[str, type]):
    """Plugin classes of one role by entry-point name, imported on first access."""

    def __init__(self, role: Role, points: Mapping[str, EntryPoint]) -> None:
        self.role = role
        self._points = dict(points)
        self._loaded: dict[str, type] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._points))

    def __len__(self) -> int:
        return len(self._points)

    def __contains__(self, name: object) -> bool:
        return name in self._points

    def __getitem__(self, name: str) -> type:
        if name not in self._loaded:
            self._loaded[name] = _load(self.role, self._points[name])
        return self._loaded[name]

    def loadable(self) -> dict[str, type]:
        """The plugins that import cleanly (broken ones are left out)."""
        found = {}
        for name in self:
            try:
                found[name] = self[name]
            except PluginLoadError:
                continue
        return found

    def schemas(self) -> Mapping[str, type]:
        """``kind`` → ``Params``, loading each plugin only when its schema is asked for."""
        return _ParamsView(self)

    def make(self, params: Any) -> Any:
        """The plugin instance that a validated ``Params`` belongs to: ``cls(params)``."""
        return self.plugin(params.kind)(params)

    def plugin(self, kind: str) -> type:
        """The class registered as ``kind`` (a :class:`UserError` naming the installed ones)."""
        if kind not in self:
            raise UserError(f"no {self.role.noun} '{kind}' is installed (entry-point group "
                            f"{self.role.group}); installed: {', '.join(self) or 'none'}")
        return self[kind]


def _load(role: Role, point: EntryPoint) -> type:
    try:
        cls = point.load()
    except Exception as exc:  # noqa: BLE001 - any import failure of a plugin is reported
        raise PluginLoadError(
            f"{role.noun} '{point.name}' ({point.value}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}. Install what it needs or choose another kind "
            f"in [{role.section}]") from None
    if not hasattr(cls, "Params"):
        raise PluginLoadError(f"{role.noun} '{point.name}' ({point.value}) has no nested "
                              "Params dataclass; it does not follow alearn's plugin protocol")
    return cls


class _ParamsView(Mapping[str, type]):
    """``kind`` → ``Params`` over a :class:`Registry`."""

    def __init__(self, plugins: Registry) -> None:
        self._plugins = plugins

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def __getitem__(self, name: str) -> type:
        return self._plugins[name].Params


def plugins(role: Role) -> Registry:
    """Every installed plugin of ``role`` by its entry-point name (first-party ones included)."""
    return Registry(role, {ep.name: ep for ep in entry_points(group=role.group)})


def schemas(role: Role) -> Mapping[str, type]:
    """``kind`` → ``Params`` of every plugin of ``role`` (the plugin section's tagged union)."""
    return plugins(role).schemas()


def make(role: Role, params: Any) -> Any:
    """The plugin of ``role`` that the validated ``params`` (with its ``kind``) configure."""
    return plugins(role).make(params)


def kinds_of(role: Role) -> Callable[[], Mapping[str, type]]:
    """The ``kinds=`` callable of a plugin field of the schema (looked up at validation time)."""
    return lambda: schemas(role)


def default_params(role: Role, kind: str) -> Callable[[], Any]:
    """A ``factory=`` for a plugin field: the defaults of plugin ``kind``, found at call time."""
    return lambda: schemas(role)[kind]()


__all__ = ["AUGMENTERS", "CALCULATORS", "EXPLORERS", "MEASURES", "PluginLoadError", "ROLES",
           "Registry", "Role", "SELECTORS", "SURROGATES", "default_params", "kinds_of", "make",
           "plugins", "schemas"]
