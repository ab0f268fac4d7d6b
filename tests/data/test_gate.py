"""The label sanity gate: expected energies per atom, the force bound, screening a dataset."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from alearn.data.backend import EnergyRow, composition_of
from alearn.data.gate import (EnergyReference, GateLimits, absolute_energy_bound, label_problem,
                               screen)
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
    reason = label_problem(water.numbers, Labels(300.0), LIMITS, reference)
    assert reason is not None and "median of 4 structures of the same composition" in reason


def test_too_few_rows_of_a_composition_judge_nothing() -> None:
    water = molecule("H2O")
    reference = EnergyReference(rows(water, [-14.2, 1e6]))
    assert reference.expected(composition_of(water.numbers)) is None
    assert label_problem(water.numbers, Labels(3000.0), LIMITS, reference) is None


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


HARTREE = 27.211386


@pytest.mark.parametrize("atoms, energy, code", [
    (molecule("H2O"), -5.070 * HARTREE, "GFN2-xTB water, -5.07 Ha"),
    (molecule("H2O"), -76.43 * HARTREE, "all-electron water (FHI-aims, Gaussian), -76.4 Ha"),
    (Atoms("O"), -75.07 * HARTREE, "all-electron O atom, ≈ -2 043 eV"),
    (Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]]), 4 * -3.7,
     "VASP fcc Cu, -3.7 eV/atom"),
    (Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]]), 4 * -1653.0 * HARTREE,
     "all-electron relativistic Cu, -1 653 Ha/atom"),
    (Atoms("Au"), -19035.9 * HARTREE, "all-electron Dirac-Fock Au, -19 036 Ha"),
    (Atoms("U"), -28000.0 * HARTREE, "all-electron relativistic U, ≈ -28 000 Ha"),
    (Atoms("Si2", positions=[[0, 0, 0], [2.35, 0, 0]]), 2 * -7.93 * 13.605693,
     "Quantum ESPRESSO Si, -7.93 Ry/atom"),
    (Atoms("W"), -160.0 * 13.605693, "semicore W pseudopotential, ≈ -160 Ry"),
    (molecule("H2O"), 3 * 80.0, "a force field's compressed water, +80 eV/atom"),
])
def test_energies_of_real_codes_pass_the_data_free_bound(atoms: Atoms, energy: float,
                                                         code: str) -> None:
    assert label_problem(atoms.numbers, Labels(energy), LIMITS, None) is None, code
    assert label_problem(atoms.numbers, Labels(energy), LIMITS, EnergyReference([])) is None, code


@pytest.mark.parametrize("atoms", [molecule("H2O"), Atoms("Cu4", positions=np.eye(4, 3) * 2.5),
                                   Atoms("H")])
def test_a_lone_absurd_energy_is_refused_without_any_data(atoms: Atoms) -> None:
    for energy in (1e6, -1e6):
        reason = label_problem(atoms.numbers, Labels(energy), LIMITS, EnergyReference([]))
        assert reason is not None and "absolute_energy_scale" in reason
    assert label_problem(atoms.numbers, Labels(1e6), GateLimits(enabled=False), None) is None
    loose = GateLimits(absolute_energy_scale=100.0, absolute_energy_margin_eV_atom=1e6)
    assert label_problem(atoms.numbers, Labels(1e6), loose, None) is None


def test_the_data_free_bound_is_thomas_fermi_times_scale_plus_margin() -> None:
    water = molecule("H2O").numbers
    tf = 0.7687 * HARTREE * (8 ** (7 / 3) + 2)
    assert absolute_energy_bound(water, LIMITS) == pytest.approx(2 * tf + 3 * 100.0)
    limits = GateLimits(absolute_energy_scale=1.0, absolute_energy_margin_eV_atom=0.0)
    assert absolute_energy_bound(water, limits) == pytest.approx(tf)
