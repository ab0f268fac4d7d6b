"""The one ASE calculator of every surrogate: :class:`SurrogateCalculator`.

It asks the surrogate for a :class:`~alearn.models.protocol.PointEvaluator` once and calls it
at every evaluation; ``results`` carry the keys of :mod:`alearn.models.prediction`:
``energy`` (and ``free_energy``), ``forces``, ``energy_std``, ``forces_std`` and
``max_force_std`` where the surrogate has per-atom spreads, ``stress`` / ``stress_std`` for
periodic cells where it has stress, and the surrogate's further keys (the committee adds
``energy_std_per_atom``, ``extrapolation``, ``extrapolation_distance``, ``energies_members``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from alearn.models.protocol import PointResult


def results_of(point: PointResult) -> dict[str, Any]:
    """The ASE ``results`` of one evaluation."""
    results: dict[str, Any] = {"energy": point.energy, "free_energy": point.energy,
                               "forces": point.forces, "energy_std": point.energy_std}
    if point.forces_std is not None:
        results["forces_std"] = point.forces_std
        results["max_force_std"] = float(np.max(point.forces_std, initial=0.0))
    results.update(point.extra)
    if point.stress is not None:
        results["stress"] = point.stress
        if point.stress_std is not None:
            results["stress_std"] = point.stress_std
    return results


class SurrogateCalculator(Calculator):
    """An ASE calculator over any surrogate (``surrogate.evaluator(**options)``)."""

    def __init__(self, surrogate: Any, **options: Any) -> None:
        self.surrogate = surrogate
        self.evaluate = surrogate.evaluator(**options)
        self.implemented_properties = list(self.evaluate.properties)
        super().__init__()

    def calculate(self, atoms: Atoms | None = None, properties: Any = ("energy",),
                  system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        want_stress = ("stress" in properties and "stress" in self.implemented_properties
                       and bool(np.all(self.atoms.pbc)))
        self.results = results_of(self.evaluate(self.atoms, stress=want_stress))


__all__ = ["SurrogateCalculator", "results_of"]
