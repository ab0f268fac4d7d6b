"""Reference-calculator plugins: the ``alearn.calculators`` role of :mod:`alearn.registry`.

Thin wrappers kept for the label package and its users; the mechanism (lazy entry points,
:class:`PluginLoadError` only for the plugin asked for) is :mod:`alearn.registry`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

from alearn import registry
from alearn.registry import CALCULATORS, PluginLoadError, Registry

GROUP = CALCULATORS.group


class Plugins(Registry):
    """Calculator plugin classes by entry-point name (a :class:`~alearn.registry.Registry`)."""

    def __init__(self, points: Mapping[str, EntryPoint]) -> None:
        super().__init__(CALCULATORS, points)


def calculator_classes() -> Registry:
    """Every installed plugin class by its entry-point name (first-party ones included)."""
    return registry.plugins(CALCULATORS)


def calculator_params() -> Mapping[str, type]:
    """The TOML schema (``Params`` dataclass) of each plugin, for the [reference] section."""
    return registry.schemas(CALCULATORS)


def make_calculator(params: Any) -> Any:
    """Instantiate the plugin a validated ``Params`` belongs to."""
    return registry.make(CALCULATORS, params)


__all__ = ["GROUP", "PluginLoadError", "Plugins", "calculator_classes", "calculator_params",
           "make_calculator"]
