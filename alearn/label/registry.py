"""Reference-calculator plugins, found through the ``alearn.calculators`` entry-point group.

Plugins are loaded lazily: listing the kinds never imports a plugin, and a plugin that fails to
import (a missing optional dependency, a module not written yet) raises a :class:`UserError`
naming it only when that plugin is asked for; every other kind keeps working.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from alearn.errors import UserError

GROUP = "alearn.calculators"


class PluginLoadError(UserError):
    """A registered calculator plugin whose module or class cannot be loaded."""


class Plugins(Mapping[str, type]):
    """Plugin classes by entry-point name, imported on first access."""

    def __init__(self, points: Mapping[str, EntryPoint]) -> None:
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
            self._loaded[name] = _load(self._points[name])
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


def _load(point: EntryPoint) -> type:
    try:
        cls = point.load()
    except Exception as exc:  # noqa: BLE001 - any import failure of a plugin is reported
        raise PluginLoadError(
            f"reference calculator '{point.name}' ({point.value}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}. Install what it needs or choose another kind "
            f"in [reference]") from None
    if not hasattr(cls, "Params"):
        raise PluginLoadError(f"reference calculator '{point.name}' ({point.value}) has no "
                              "nested Params dataclass; it does not follow alearn's plugin protocol")
    return cls


class _ParamsView(Mapping[str, type]):
    """``kind`` → ``Params`` over :class:`Plugins`, loading each plugin when it is asked for."""

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def __getitem__(self, name: str) -> type:
        return self._plugins[name].Params


def calculator_classes() -> Plugins:
    """Every installed plugin class by its entry-point name (first-party ones included)."""
    return Plugins({ep.name: ep for ep in entry_points(group=GROUP)})


def calculator_params() -> Mapping[str, type]:
    """The TOML schema (``Params`` dataclass) of each plugin, for the [reference] section."""
    return _ParamsView(calculator_classes())


def make_calculator(params: Any) -> Any:
    """Instantiate the plugin a validated ``Params`` belongs to."""
    plugins = calculator_classes()
    if params.kind not in plugins:
        raise UserError(f"no reference calculator '{params.kind}' is installed; installed: "
                        + ", ".join(plugins))
    return plugins[params.kind](params)


__all__ = ["GROUP", "PluginLoadError", "Plugins", "calculator_classes", "calculator_params",
           "make_calculator"]
