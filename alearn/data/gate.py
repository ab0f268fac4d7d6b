"""The label sanity gate: physically absurd labels never reach the store or the training set.

The store itself refuses what is malformed (non-finite numbers, wrong shapes, atoms on top of
each other).  The gate refuses what is well-formed but cannot be right:

* a **force** larger than ``max_force_eV_A`` on any atom;
* an **energy per atom** further than ``max_energy_deviation_eV_atom`` from what is expected of
  the structure's composition.  Expected is, in this order: the median energy per atom of the
  reference structures of the same composition (at least :data:`MIN_SAME_COMPOSITION` of them);
  per-element energies fitted by least squares to the reference structures, when the
  composition lies in the span of the fitted ones; the configured ``reference_energies_eV``
  (one per element).  With none of these there is nothing to compare with, and only the force
  bound applies.

Whoever stores labels builds one :class:`EnergyReference` per batch from data fixed for the
whole batch (the dispatcher: earlier iterations of the same calculator; an import: the file
and what the store held) and asks :func:`label_problem` for each structure, so the verdicts do
not depend on the order in which results arrive.  :func:`screen` applies the same test to a
whole dataset against its own medians (before training): it catches absurd labels among the
first structures of a composition, which had nothing to be compared with when they arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from alearn.data.backend import EnergyRow, composition_of
from alearn.data.records import Labels, LabelledStructure

#: same-composition structures needed before their median energy per atom is trusted
MIN_SAME_COMPOSITION = 3
#: relative size of a composition's component outside the span of the fitted ones, below which
#: the per-element fit is used for it
_SPAN_TOLERANCE = 1e-8

Composition = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class GateLimits:
    """The gate's bounds (``[store]`` keys of the same names)."""

    enabled: bool = True
    max_force_eV_A: float = 1000.0
    max_energy_deviation_eV_atom: float = 10.0
    reference_energies_eV: Mapping[str, float] | None = None

    @classmethod
    def from_config(cls, store: Any) -> "GateLimits":
        """The limits of a ``[store]`` section (:class:`alearn.config.store.StoreConfig`)."""
        return cls(bool(store.label_gate), float(store.max_force_eV_A),
                   float(store.max_energy_deviation_eV_atom), dict(store.reference_energies_eV))

    def element_energies(self) -> dict[int, float]:
        return {atomic_numbers[k]: float(v) for k, v in (self.reference_energies_eV or {}).items()}


@dataclass(frozen=True)
class Expected:
    """An expected energy per atom and where it comes from (for the reason text)."""

    per_atom_eV: float
    basis: str


class EnergyReference:
    """Expected energies per atom from a fixed set of (composition, energy) rows."""

    def __init__(self, rows: Iterable[EnergyRow], element_energies: Mapping[int, float] | None = None):
        per_atom: dict[Composition, list[float]] = {}
        for row in rows:
            if row.natoms and np.isfinite(row.energy):
                per_atom.setdefault(row.composition, []).append(row.energy / row.natoms)
        self._medians = {c: (float(np.median(v)), len(v)) for c, v in per_atom.items()
                         if len(v) >= MIN_SAME_COMPOSITION}
        self._elements = dict(element_energies or {})
        self._fit = _ElementFit.of(self._medians)

    def expected(self, composition: Composition) -> Expected | None:
        if composition in self._medians:
            median, count = self._medians[composition]
            return Expected(median, f"the median of {count} structures of the same composition")
        if self._fit is not None:
            fitted = self._fit.predict(composition)
            if fitted is not None:
                return Expected(fitted, f"per-element energies fitted to {self._fit.compositions} "
                                        "compositions")
        if composition and all(z in self._elements for z, _ in composition):
            natoms = sum(n for _, n in composition)
            total = sum(self._elements[z] * n for z, n in composition)
            return Expected(total / natoms, "the configured per-element reference energies")
        return None


@dataclass(frozen=True)
class _ElementFit:
    """Least-squares energies per element over the compositions' median energies."""

    elements: tuple[int, ...]
    energies: np.ndarray
    basis: np.ndarray          # orthonormal rows spanning the fitted compositions
    compositions: int

    @classmethod
    def of(cls, medians: Mapping[Composition, tuple[float, int]]) -> "_ElementFit | None":
        if len(medians) < 2:
            return None
        elements = tuple(sorted({z for c in medians for z, _ in c}))
        design = np.array([_fractions(c, elements) for c in medians])
        target = np.array([m for m, _ in medians.values()])
        energies, *_ = np.linalg.lstsq(design, target, rcond=None)
        _, singular, vt = np.linalg.svd(design, full_matrices=False)
        rank = int(np.sum(singular > singular[0] * 1e-10))
        return cls(elements, energies, vt[:rank], len(medians))

    def predict(self, composition: Composition) -> float | None:
        if any(z not in self.elements for z, _ in composition):
            return None
        x = np.array(_fractions(composition, self.elements))
        outside = x - self.basis.T @ (self.basis @ x)
        if np.linalg.norm(outside) > _SPAN_TOLERANCE * np.linalg.norm(x):
            return None
        return float(x @ self.energies)


def _fractions(composition: Composition, elements: Sequence[int]) -> list[float]:
    natoms = sum(n for _, n in composition)
    counts = dict(composition)
    return [counts.get(z, 0) / natoms for z in elements]


def label_problem(numbers: np.ndarray, labels: Labels, limits: GateLimits,
                  reference: EnergyReference | None) -> str | None:
    """Why these labels are not plausible (``None``: they pass)."""
    if not limits.enabled:
        return None
    if labels.forces is not None:  # malformed labels are left to the store's own checks
        forces = np.asarray(labels.forces, dtype=float)
        if forces.shape == (len(numbers), 3) and forces.size and np.all(np.isfinite(forces)):
            norms = np.sqrt((forces * forces).sum(axis=1))
            worst = int(np.argmax(norms))
            if norms[worst] > limits.max_force_eV_A:
                return (f"the force on atom {worst} ({chemical_symbols[int(numbers[worst])]}) is "
                        f"{norms[worst]:.4g} eV/Å, beyond the bound of {limits.max_force_eV_A:g} "
                        "eV/Å ([store] max_force_eV_A)")
    if reference is None or not len(numbers) or not np.isfinite(float(labels.energy)):
        return None
    composition = composition_of(numbers)
    expected = reference.expected(composition)
    if expected is None:
        return None
    per_atom = float(labels.energy) / len(numbers)
    deviation = per_atom - expected.per_atom_eV
    if abs(deviation) <= limits.max_energy_deviation_eV_atom:
        return None
    return (f"the energy per atom, {per_atom:.6g} eV, is {deviation:+.4g} eV from the "
            f"{expected.per_atom_eV:.6g} eV expected from {expected.basis}; at most "
            f"{limits.max_energy_deviation_eV_atom:g} eV/atom is allowed "
            "([store] max_energy_deviation_eV_atom)")


@dataclass(frozen=True)
class Screened:
    """A dataset after :func:`screen`: the rows kept and why each other one was left out."""

    kept: tuple[LabelledStructure, ...]
    invalid: tuple[tuple[int | None, str], ...]


def screen(rows: Sequence[LabelledStructure], limits: GateLimits) -> Screened:
    """Leave out rows whose labels are implausible against the dataset itself (same-composition
    medians of its reference and imported rows, per calculator), and rows derived from those —
    deterministic for a given set of rows, whatever their order."""
    if not limits.enabled:
        return Screened(tuple(rows), ())
    references = _dataset_references(rows, limits)
    reasons: dict[int, str] = {}
    for index, row in enumerate(rows):
        reason = label_problem(row.atoms.numbers, row.labels, limits,
                               references.get(row.provenance.calculator))
        if reason is not None:
            reasons[index] = reason
    bad_ids = {rows[i].id for i in reasons if rows[i].id is not None}
    for index, row in enumerate(rows):
        if index not in reasons and row.provenance.parent in bad_ids:
            reasons[index] = f"derived from row {row.provenance.parent}, whose labels are implausible"
    kept = tuple(row for index, row in enumerate(rows) if index not in reasons)
    return Screened(kept, tuple((rows[i].id, reasons[i]) for i in sorted(reasons)))


def plausible_rows(rows: Sequence[LabelledStructure], store: Any, log: Any = None
                   ) -> list[LabelledStructure]:
    """``rows`` without those :func:`screen` leaves out under the ``[store]`` section
    ``store``, each left-out row logged (``log.warning``) with its reason."""
    screened = screen(rows, GateLimits.from_config(store))
    if log is not None:
        for row_id, reason in screened.invalid:
            log.warning("row %s left out of the dataset: %s", row_id, reason)
    return list(screened.kept)


def _dataset_references(rows: Sequence[LabelledStructure],
                        limits: GateLimits) -> dict[str | None, EnergyReference]:
    grouped: dict[str | None, list[EnergyRow]] = {}
    for row in rows:
        if row.provenance.source.value in ("reference", "imported"):
            numbers = row.atoms.numbers
            grouped.setdefault(row.provenance.calculator, []).append(
                EnergyRow(row.id or 0, composition_of(numbers), len(numbers), float(row.labels.energy)))
    elements = limits.element_energies()
    return {name: EnergyReference(group, elements) for name, group in grouped.items()}
