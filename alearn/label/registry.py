"""Reference-calculator plugins, found through the ``alearn.calculators`` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

GROUP = "alearn.calculators"


def calculator_classes() -> dict[str, type]:
    """Every installed plugin class by its entry-point name (first-party ones included)."""
    return {ep.name: ep.load() for ep in entry_points(group=GROUP)}


def calculator_params() -> Mapping[str, type]:
    """The TOML schema (``Params`` dataclass) of each plugin, for the [reference] section."""
    return {name: cls.Params for name, cls in calculator_classes().items()}


def make_calculator(params: Any) -> Any:
    """Instantiate the plugin a validated ``Params`` belongs to."""
    return calculator_classes()[params.kind](params)
