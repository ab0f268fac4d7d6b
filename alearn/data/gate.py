"""The label sanity gate: physically absurd labels never reach the store or the training set.

The store itself refuses what is malformed (non-finite numbers, wrong shapes, atoms on top of
each other).  The gate refuses what is well-formed but cannot be right:

* a **force** larger than ``max_force_eV_A`` on any atom;
* an **energy** larger in magnitude than any code can give for those atoms
  (:func:`absolute_energy_bound`), which needs no data: it is what refuses a lone absurd
  energy imported into an empty store;
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

#: the Thomas–Fermi total energy of a neutral atom is -0.7687 Z^(7/3) hartree (this, in eV)
THOMAS_FERMI_EV = 0.7687 * 27.211386
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
    absolute_energy_scale: float = 2.0
    absolute_energy_margin_eV_atom: float = 100.0

    @classmethod
    def from_config(cls, store: Any) -> "GateLimits":
        """The limits of a ``[store]`` section (:class:`alearn.config.store.StoreConfig`)."""
        return cls(bool(store.label_gate), float(store.max_force_eV_A),
                   float(store.max_energy_deviation_eV_atom), dict(store.reference_energies_eV),
                   float(store.absolute_energy_scale), float(store.absolute_energy_margin_eV_atom))

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


def absolute_energy_bound(numbers: np.ndarray, limits: GateLimits) -> float:
    """The largest |energy| (eV) any reference code can give for atoms ``numbers``, whatever
    the data: ``scale`` × Σ 20.92 eV · Z^(7/3) + ``margin`` × number of atoms.

    The Thomas–Fermi energy of a neutral atom, -0.7687 Z^(7/3) Ha, is larger in magnitude than
    its non-relativistic total energy for every Z (the Scott and exchange corrections both
    reduce it: O -98 Ha vs -75 Ha, Cu -1 986 vs -1 639, Au -20 585 vs -17 865); relativity adds
    a few per cent to heavy atoms (Au ≈ -19 035 Ha), well inside a scale of 2.  All-electron codes
    (FHI-aims, Gaussian, ORCA, …) give energies near the sum of the atoms' total energies —
    about -2 040 eV per O atom, -44 600 eV per Cu atom — and binding changes them by a few eV per
    atom; pseudopotential codes (VASP ≈ -3.7 eV/atom for Cu, Quantum ESPRESSO, CP2K) and
    semi-empirical ones (xTB ≈ -46 eV/atom for water) give far smaller magnitudes.  The margin
    per atom leaves room for codes whose zero is not the isolated atoms (force fields, EMT, a
    compressed structure's positive energy).  The bound is loose for heavy atoms (a lone Au atom
    may have |E| up to 1.1 × 10⁶ eV); the relative test against the campaign's own data is the
    sharp one."""
    z = np.asarray(numbers, dtype=float)
    return float(limits.absolute_energy_scale * THOMAS_FERMI_EV * np.sum(z ** (7.0 / 3.0))
                 + limits.absolute_energy_margin_eV_atom * len(z))


def _absolute_energy_problem(numbers: np.ndarray, energy: float, limits: GateLimits) -> str | None:
    bound = absolute_energy_bound(numbers, limits)
    if abs(energy) <= bound:
        return None
    return (f"the energy, {energy:.6g} eV for {len(numbers)} atoms, is larger in magnitude than "
            f"{bound:.6g} eV, beyond what any reference code gives for these elements (even an "
            "all-electron total energy; [store] absolute_energy_scale, "
            "absolute_energy_margin_eV_atom)")


def label_problem(numbers: np.ndarray, labels: Labels, limits: GateLimits,
                  reference: EnergyReference | None) -> str | None:
    """Why these labels are not plausible (``None``: they pass)."""
    if not limits.enabled:
        return None
    energy_value = labels.energy
    if (len(numbers) and isinstance(energy_value, (int, float, np.floating, np.integer))
            and not isinstance(energy_value, bool) and np.isfinite(float(energy_value))):
        absurd = _absolute_energy_problem(numbers, float(energy_value), limits)
        if absurd is not None:
            return absurd
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
