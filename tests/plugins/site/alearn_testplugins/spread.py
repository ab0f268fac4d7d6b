"""Uncertainty measure ``rms_force_std``: the root mean square of the atomic force spreads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np

from alearn.config.schema import option
from alearn.select.protocol import Measure, MeasureValue


class RmsForceStd(Measure):
    """sqrt(mean_i σ_F,i²) in eV/Å; true error: the RMS atomic force error."""

    @dataclass(frozen=True)
    class Params:
        """RMS of the atomic force spreads (eV/Å)."""

        kind: Literal["rms_force_std"] = option("rms_force_std", doc="uncertainty measure")

    unit = "eV/Å"
    calibrated_against = "sqrt(mean_i |F_i − F_i^ref|²) (eV/Å)"

    def evaluate(self, atoms: Any, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        per_atom = np.asarray(results["forces_std"], dtype=float).reshape(-1)
        return MeasureValue(float(np.sqrt(np.mean(per_atom ** 2))), per_atom)

    def true_error(self, atoms: Any, results: Mapping[str, Any], labels: Any) -> float | None:
        diff = np.asarray(results["forces"], dtype=float) - np.asarray(labels.forces, dtype=float)
        return float(np.sqrt(np.mean(np.sum(diff ** 2, axis=1))))
