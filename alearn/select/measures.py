"""The first-party uncertainty measures (``alearn.measures``): one number per structure (and per
atom where defined) from the result keys a surrogate calculator provides (see
:mod:`alearn.models.prediction`).

Each is a :class:`~alearn.select.protocol.Measure` with its own ``Params`` (the ``[select]
measure`` table; ``measure = "name"`` is short for ``measure = {kind = "name"}``).  Units:
force measures in eV/Å, energy measures in eV (per atom where named), the extrapolation measure
in units of the training range, and the ``combined`` measure is dimensionless (each term
divided by its own scale, then the maximum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np
from ase import Atoms

from alearn.config.schema import Invalid, option
from alearn.errors import UserError
from alearn.select.protocol import Measure, MeasureValue


def _need(results: Mapping[str, Any], key: str, kind: str) -> np.ndarray:
    if key not in results:
        raise UserError(
            f"the uncertainty measure {kind!r} needs the calculator result {key!r}, which this "
            f"surrogate does not provide (it provides: {', '.join(sorted(results))}); choose "
            "another [select] measure")
    return np.asarray(results[key], dtype=np.float64)


def _energy(results: Mapping[str, Any]) -> float:
    return float(results["energy"])


class MaxForceStd(Measure):
    """Committee maximum atomic force deviation max_i σ_F,i (DP-GEN's model deviation), eV/Å."""

    @dataclass(frozen=True)
    class Params:
        """Largest atomic force deviation max_i σ_F,i (eV/Å); true error: max_i |F_i − F_i^ref|."""

        kind: Literal["max_force_std"] = option("max_force_std", doc="uncertainty measure")

    unit = "eV/Å"
    calibrated_against = "max_i |F_i − F_i^ref| (eV/Å)"

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        per_atom = _need(results, "forces_std", self.kind).reshape(-1)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        if labels.forces is None:
            raise UserError("calibrating 'max_force_std' needs reference forces in the held-out data")
        forces = np.asarray(results["forces"], dtype=np.float64).reshape(-1, 3)
        return float(np.max(np.linalg.norm(forces - labels.forces, axis=1)))


class RelativeForceStd(Measure):
    """max_i σ_F,i / (|F_i| + floor): the force deviation relative to the force magnitude.

    The floor (eV/Å) keeps atoms with near-zero forces from dominating.
    """

    @dataclass(frozen=True)
    class Params:
        """Force deviation relative to the force, max_i σ_F,i / (|F_i| + floor) (dimensionless)."""

        kind: Literal["relative_force_std"] = option("relative_force_std", doc="uncertainty measure")
        floor_eV_A: float = option(1.0, doc="floor added to |F_i|", unit="eV/Å", gt=0.0)

    unit = "1"

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        std = _need(results, "forces_std", self.kind).reshape(-1)
        forces = _need(results, "forces", self.kind).reshape(-1, 3)
        per_atom = std / (np.linalg.norm(forces, axis=1) + self.params.floor_eV_A)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)


class EnergyStdPerAtom(Measure):
    """Standard deviation of the total energy divided by the number of atoms, eV/atom."""

    @dataclass(frozen=True)
    class Params:
        """Energy std per atom σ_E / N (eV/atom); true error: |E − E^ref| / N."""

        kind: Literal["energy_std_per_atom"] = option("energy_std_per_atom", doc="uncertainty measure")

    unit = "eV/atom"
    calibrated_against = "|E − E^ref| / N (eV/atom)"

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        std = float(_need(results, "energy_std", self.kind))
        return MeasureValue(std / max(len(atoms), 1), None)

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        return abs(_energy(results) - labels.energy) / len(atoms)


class GprStd(Measure):
    """The Gaussian process' posterior std of the total energy, eV (seed 004's gate).

    Per-atom contributions are the GP's per-atom force std where the surrogate provides them
    (they explain *where*, the value stays the energy std).
    """

    @dataclass(frozen=True)
    class Params:
        """The GP's energy std σ_E (eV); true error: |E − E^ref|."""

        kind: Literal["gpr_std"] = option("gpr_std", doc="uncertainty measure")

    unit = "eV"
    calibrated_against = "|E − E^ref| (eV)"

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        std = float(_need(results, "energy_std", self.kind))
        per_atom = results.get("forces_std")
        per_atom = None if per_atom is None else np.asarray(per_atom, dtype=np.float64).reshape(-1)
        return MeasureValue(std, per_atom)

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        return abs(_energy(results) - labels.energy)


class Extrapolation(Measure):
    """Descriptor extrapolation (RuNNer's rule): how far an atom's features leave the training
    [min, max], in units of each feature's training range.

    An atom counts only when at least ``min_features`` of its features are outside the range;
    the value is the largest excess among counted atoms (0 when none extrapolates).
    """

    @dataclass(frozen=True)
    class Params:
        """Largest excess of an atom's features beyond the training range (training ranges)."""

        kind: Literal["extrapolation"] = option("extrapolation", doc="uncertainty measure")
        min_features: int = option(1, doc="features outside the training range needed for an atom to count", ge=1)

    unit = "training ranges"

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        count = _need(results, "extrapolation", self.kind).reshape(-1)
        distance = _need(results, "extrapolation_distance", self.kind).reshape(-1)
        per_atom = np.where(count >= self.params.min_features, distance, 0.0)
        return MeasureValue(float(per_atom.max(initial=0.0)), per_atom)


class Combined(Measure):
    """The maximum of several measures, each divided by its own scale (dimensionless).

    A structure is as uncertain as its most alarming normalised term, so with trust window
    [1, hi) "any term beyond its scale" makes a candidate.  Each term is an installed measure
    at its default parameters.
    """

    @dataclass(frozen=True)
    class Params:
        """Maximum over terms of measure / scale (dimensionless)."""

        kind: Literal["combined"] = option("combined", doc="uncertainty measure")
        terms: dict[str, float] = option(factory=dict, doc="measure kind → scale (the term is divided by it), e.g. {max_force_std = 0.2, extrapolation = 0.1}; each term at its default parameters")

        def check(self) -> None:
            from alearn import registry

            if not self.terms:
                raise Invalid("terms", "is empty, expected at least one term for measure 'combined'")
            kinds = registry.plugins(registry.MEASURES)
            for name, scale in self.terms.items():
                if name not in kinds or name == "combined":
                    others = ", ".join(k for k in kinds if k != "combined")
                    raise Invalid(f"terms.{name}", f"is not a measure; expected one of {others}")
                if scale <= 0:
                    raise Invalid(f"terms.{name}", f"found {scale}, expected a scale greater than 0")

    unit = "1"

    def __init__(self, params: Any) -> None:
        from alearn import registry

        super().__init__(params)
        plugins = registry.plugins(registry.MEASURES)
        self.terms = tuple((plugins[name](plugins[name].Params()), float(scale))
                           for name, scale in sorted(params.terms.items()))

    def fit(self, surrogate: Any, training: Any) -> "Combined":
        fitted = [(measure.fit(surrogate, training), scale) for measure, scale in self.terms]
        if all(a is b for (a, _), (b, _) in zip(fitted, self.terms)):
            return self
        out = Combined.__new__(Combined)
        out.params, out.terms = self.params, tuple(fitted)
        return out

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        values, per_atoms = [], []
        for measure, scale in self.terms:
            got = measure.evaluate(atoms, results, surrogate)
            values.append(got.value / scale)
            if got.per_atom is not None:
                per_atoms.append(got.per_atom / scale)
        per_atom = np.max(per_atoms, axis=0) if per_atoms else None
        return MeasureValue(float(max(values, default=0.0)), per_atom)


def make_measure(params: Any) -> Any:
    """The measure configured by ``params`` (a measure's ``Params``, e.g. ``[select] measure``)."""
    from alearn import registry

    return registry.make(registry.MEASURES, params)


__all__ = ["Combined", "EnergyStdPerAtom", "Extrapolation", "GprStd", "MaxForceStd",
           "MeasureValue", "RelativeForceStd", "make_measure"]
