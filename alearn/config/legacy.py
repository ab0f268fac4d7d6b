"""Campaign files of earlier releases in today's shape (also the ``resolved.toml`` of older
campaign directories, so they still open).

Up to the roles-and-registries change, ``[select]`` named its measure and selector by string
and kept the measures' parameters flat beside them::

    measure = "relative_force_std"     force_floor_eV_A = 0.5
    extrapolation_min_features = 2     combine = {max_force_std = 0.2}    diversity = "kmeans"

Today the measure and the selector are plugins with their own tables (``[select.measure]``
``kind = "relative_force_std"``, ``floor_eV_A = 0.5``; ``[select] selector = "kmeans"``).
:func:`upgrade` maps the old keys when the measure is still given by name; a flat parameter
of a measure other than the chosen one had no effect then and is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alearn.config.schema import ConfigError

#: flat [select] key → (measure kind it parametrised, its key in that measure's table)
MEASURE_KEYS = {"force_floor_eV_A": ("relative_force_std", "floor_eV_A"),
                "extrapolation_min_features": ("extrapolation", "min_features")}
#: the defaults of those keys (a combined measure's terms take the defaults today)
DEFAULTS = {"force_floor_eV_A": 1.0, "extrapolation_min_features": 1}
LEGACY_KEYS = (*MEASURE_KEYS, "combine", "diversity")


def upgrade(raw: Mapping[str, Any], file: str | Path | None = None) -> dict[str, Any]:
    """``raw`` (a parsed campaign file) with the legacy ``[select]`` keys mapped."""
    out = dict(raw)
    select = raw.get("select")
    if not isinstance(select, Mapping) or not any(k in select for k in LEGACY_KEYS):
        return out
    select = dict(select)
    if "diversity" in select and "selector" not in select:
        select["selector"] = select.pop("diversity")
    measure = select.get("measure", "max_force_std")
    if isinstance(measure, str):
        select["measure"] = _measure_table(measure, select, file)
    out["select"] = select
    return out


def _measure_table(measure: str, select: dict[str, Any], file: str | Path | None) -> Any:
    table: dict[str, Any] = {"kind": measure}
    for key, (kind, field) in MEASURE_KEYS.items():
        if key not in select:
            continue
        value = select.pop(key)
        if measure == kind:
            table[field] = value
        elif measure == "combined" and value != DEFAULTS[key] and kind in _terms(select):
            raise ConfigError(file, f"select.{key}", f"found {value!r}: the terms of a combined "
                              "measure take their default parameters now; remove the key")
    if "combine" in select:
        terms = select.pop("combine")
        if measure == "combined":
            table["terms"] = terms
    return table if len(table) > 1 else measure


def _terms(select: Mapping[str, Any]) -> Mapping[str, Any]:
    terms = select.get("combine", {})
    return terms if isinstance(terms, Mapping) else {}
