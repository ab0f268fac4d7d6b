"""Uncertainty measures: one number per structure (and per atom where defined) from the result
keys a surrogate calculator provides (see :mod:`alearn.models.prediction`).

Every measure is a small frozen dataclass with a ``kind`` and ``evaluate(results, numbers)``,
registered in :data:`MEASURE_KINDS`.  :func:`make_measure` builds one from the ``[select]``
section.  Units: force measures in eV/Å, energy measures in eV (per atom where named), the
extrapolation measure in units of the training range, and the ``combined`` measure is
dimensionless (each term divided by its own scale, then the maximum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from alearn.errors import UserError


@dataclass(frozen=True)
class MeasureValue:
    """A measure of one structure: the value and, where defined, its per-atom contributions."""

    value: float
    per_atom: np.ndarray | None = None   # (n_atoms,), same unit as ``value``


class Measure(Protocol):
    """An uncertainty measure: ``evaluate`` reads a calculator's ``results`` of one structure."""

    kind: str

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        """The uncertainty of the structure whose atomic numbers are ``numbers``."""


def _need(results: Mapping[str, Any], key: str, kind: str) -> np.ndarray:
    if key not in results:
        raise UserError(
            f"the uncertainty measure {kind!r} needs the calculator result {key!r}, which this "
            f"surrogate does not provide (it provides: {', '.join(sorted(results))}); choose "
            "another [select] measure")
    return np.asarray(results[key], dtype=np.float64)


@dataclass(frozen=True)
class MaxForceStd:
    """Committee maximum atomic force deviation max_i σ_F,i (DP-GEN's model deviation), eV/Å."""

    kind: str = "max_force_std"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        per_atom = _need(results, "forces_std", self.kind).reshape(-1)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)


@dataclass(frozen=True)
class RelativeForceStd:
    """max_i σ_F,i / (|F_i| + floor): the force deviation relative to the force magnitude.

    The floor (eV/Å) keeps atoms with near-zero forces from dominating.
    """

    floor_eV_A: float = 1.0
    kind: str = "relative_force_std"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        std = _need(results, "forces_std", self.kind).reshape(-1)
        forces = _need(results, "forces", self.kind).reshape(-1, 3)
        per_atom = std / (np.linalg.norm(forces, axis=1) + self.floor_eV_A)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)


@dataclass(frozen=True)
class EnergyStdPerAtom:
    """Standard deviation of the total energy divided by the number of atoms, eV/atom."""

    kind: str = "energy_std_per_atom"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        std = float(_need(results, "energy_std", self.kind))
        return MeasureValue(std / max(len(numbers), 1), None)


@dataclass(frozen=True)
class GprStd:
    """The Gaussian process' posterior std of the total energy, eV (seed 004's gate).

    Per-atom contributions are the GP's per-atom force std where the surrogate provides them
    (they explain *where*, the value stays the energy std).
    """

    kind: str = "gpr_std"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        std = float(_need(results, "energy_std", self.kind))
        per_atom = results.get("forces_std")
        per_atom = None if per_atom is None else np.asarray(per_atom, dtype=np.float64).reshape(-1)
        return MeasureValue(std, per_atom)


@dataclass(frozen=True)
class Extrapolation:
    """Descriptor extrapolation (RuNNer's rule): how far an atom's features leave the training
    [min, max], in units of each feature's training range.

    An atom counts only when at least ``min_features`` of its features are outside the range;
    the value is the largest excess among counted atoms (0 when none extrapolates).
    """

    min_features: int = 1
    kind: str = "extrapolation"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        count = _need(results, "extrapolation", self.kind).reshape(-1)
        distance = _need(results, "extrapolation_distance", self.kind).reshape(-1)
        per_atom = np.where(count >= self.min_features, distance, 0.0)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)


@dataclass(frozen=True)
class Combined:
    """The maximum of several measures, each divided by its own scale (dimensionless).

    A structure is as uncertain as its most alarming normalised term, so with trust window
    [1, hi) "any term beyond its scale" makes a candidate.
    """

    terms: tuple[tuple[Measure, float], ...] = ()
    kind: str = "combined"

    def evaluate(self, results: Mapping[str, Any], numbers: np.ndarray) -> MeasureValue:
        values, per_atoms = [], []
        for measure, scale in self.terms:
            got = measure.evaluate(results, numbers)
            values.append(got.value / scale)
            if got.per_atom is not None:
                per_atoms.append(got.per_atom / scale)
        per_atom = np.max(per_atoms, axis=0) if per_atoms else None
        return MeasureValue(float(max(values, default=0.0)), per_atom)


#: simple measures by kind, each built from the [select] section
MEASURE_KINDS: Mapping[str, Callable[[Any], Measure]] = {
    "max_force_std": lambda cfg: MaxForceStd(),
    "relative_force_std": lambda cfg: RelativeForceStd(floor_eV_A=cfg.force_floor_eV_A),
    "energy_std_per_atom": lambda cfg: EnergyStdPerAtom(),
    "gpr_std": lambda cfg: GprStd(),
    "extrapolation": lambda cfg: Extrapolation(min_features=cfg.extrapolation_min_features),
}


def make_measure(select_cfg: Any) -> Measure:
    """The measure named by ``[select] measure`` (``combined`` uses ``[select.combine]``)."""
    if select_cfg.measure == "combined":
        terms = tuple((MEASURE_KINDS[name](select_cfg), float(scale))
                      for name, scale in sorted(select_cfg.combine.items()))
        return Combined(terms=terms)
    return MEASURE_KINDS[select_cfg.measure](select_cfg)
