"""The label sanity gate: expected energies per atom, the force bound, screening a dataset."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from alearn.data.backend import EnergyRow, composition_of
from alearn.data.gate import EnergyReference, GateLimits, label_problem, screen
from alearn.data.records import Labels, LabelledStructure, Provenance, Source

LIMITS = GateLimits()


def rows(atoms: Atoms, energies: list[float]) -> list[EnergyRow]:
    comp = composition_of(atoms.numbers)
    return [EnergyRow(i, comp, len(atoms), e) for i, e in enumerate(energies)]


def test_same_composition_median_judges_new_labels() -> None:
    water = molecule("H2O")
    reference = EnergyReference(rows(water, [-14.2, -14.25, -14.1, 1e6]))  # one absurd row
    assert reference.expected(composition_of(water.numbers)).per_atom_eV == pytest.approx(
        np.median([-14.2, -14.25, -14.1, 1e6]) / 3)
    assert label_problem(water.numbers, Labels(-14.0), LIMITS, reference) is None
    # a close contact several eV above equilibrium is physics, not an absurd label
    assert label_problem(water.numbers, Labels(-14.2 + 3 * 8.0), LIMITS, reference) is None
    reason = label_problem(water.numbers, Labels(1e6), LIMITS, reference)
    assert reason is not None and "median of 4 structures of the same composition" in reason


def test_too_few_rows_of_a_composition_judge_nothing() -> None:
    water = molecule("H2O")
    reference = EnergyReference(rows(water, [-14.2, 1e6]))
    assert reference.expected(composition_of(water.numbers)) is None
    assert label_problem(water.numbers, Labels(5e5), LIMITS, reference) is None


def test_per_element_fit_covers_new_compositions_in_its_span() -> None:
    """H2 and O2 rows fix energies of H and O; H2O2 lies in their span, CH4 does not."""
    h2, o2 = molecule("H2"), molecule("O2")
    reference = EnergyReference(rows(h2, [-6.6, -6.7, -6.5]) + rows(o2, [-9.8, -9.9, -9.7]))
    peroxide = molecule("H2O2")
    expected = reference.expected(composition_of(peroxide.numbers))
    assert expected.per_atom_eV == pytest.approx((2 * -3.3 + 2 * -4.9) / 4)
    assert "per-element energies fitted" in expected.basis
    assert reference.expected(composition_of(molecule("CH4").numbers)) is None


def test_configured_element_energies_and_the_force_bound() -> None:
    limits = GateLimits(reference_energies_eV={"H": -13.6, "O": -432.0})
    reference = EnergyReference([], limits.element_energies())
    water = molecule("H2O")
    binding = -10.0  # eV for the molecule: plausible
    assert label_problem(water.numbers, Labels(2 * -13.6 - 432.0 + binding), limits,
                         reference) is None
    assert "configured per-element" in label_problem(water.numbers, Labels(-14.0), limits,
                                                     reference)
    forces = np.zeros((3, 3))
    forces[1] = [0.0, 2000.0, 0.0]
    reason = label_problem(water.numbers, Labels(-14.0, forces), LIMITS, None)
    assert "atom 1 (H)" in reason and "max_force_eV_A" in reason
    assert label_problem(water.numbers, Labels(-14.0, forces), GateLimits(enabled=False), None) is None


def test_malformed_labels_are_left_to_the_store() -> None:
    water = molecule("H2O")
    reference = EnergyReference(rows(water, [-14.2] * 3))
    assert label_problem(water.numbers, Labels(float("nan")), LIMITS, reference) is None
    assert label_problem(water.numbers, Labels(-14.0, np.zeros((2, 3))), LIMITS, reference) is None


def _structure(id_: int, energy: float, source: Source = Source.REFERENCE,
               parent: int | None = None) -> LabelledStructure:
    return LabelledStructure(molecule("H2O"), Labels(energy),
                             Provenance(source, calculator="xtb", parent=parent), id_)


def test_screen_leaves_out_absurd_rows_and_their_children_in_any_order() -> None:
    data = [_structure(1, -14.2), _structure(2, -14.1), _structure(3, 1e6),
            _structure(4, -14.3), _structure(5, -14.0, Source.TAYLOR, parent=3),
            _structure(6, -14.15, Source.TAYLOR, parent=1)]
    first = screen(data, LIMITS)
    assert [r.id for r in first.kept] == [1, 2, 4, 6]
    assert [i for i, _ in first.invalid] == [3, 5]
    assert "derived from row 3" in dict(first.invalid)[5]
    again = screen(list(reversed(data)), LIMITS)
    assert sorted(r.id for r in again.kept) == [1, 2, 4, 6]
    assert screen(data, GateLimits(enabled=False)).kept == tuple(data)
