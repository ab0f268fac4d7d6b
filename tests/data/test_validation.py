"""Insert validation: every rejected structure comes with a reason; the content hash."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from alearn.data.records import Labels
from alearn.data.validation import closest_pair, content_hash, problem, voigt_stress


def water() -> Atoms:
    return molecule("H2O")


def forces(n: int) -> np.ndarray:
    return np.zeros((n, 3))


@pytest.mark.parametrize("atoms, labels, fragment", [
    (Atoms(), Labels(1.0), "no atoms"),
    (water(), Labels(float("nan"), forces(3)), "energy is not finite"),
    (water(), Labels(float("inf")), "energy is not finite"),
    (water(), Labels(None), "energy must be a number"),  # type: ignore[arg-type]
    (water(), Labels(True), "energy must be a number"),
    (water(), Labels(1.0, forces(2)), "forces have shape (2, 3), expected (3, 3) for 3 atoms"),
    (water(), Labels(1.0, np.zeros(9)), "forces have shape (9,)"),
    (water(), Labels(1.0, np.full((3, 3), np.nan)), "forces contain NaN"),
    (bulk("Si"), Labels(1.0, forces(2), np.zeros(5)), "stress has shape (5,)"),
    (bulk("Si"), Labels(1.0, forces(2), np.array([0, 0, 0, 0, 0, np.inf])), "stress contains NaN"),
])
def test_bad_labels_are_rejected_with_reason(atoms, labels, fragment) -> None:
    reason = problem(atoms, labels, 0.5)
    assert reason is not None and fragment in reason


def test_bad_geometry_is_rejected_with_reason() -> None:
    atoms = water()
    atoms.positions[0, 0] = np.nan
    assert "positions contain NaN" in problem(atoms, Labels(1.0), 0.5)
    periodic_without_cell = water()
    periodic_without_cell.pbc = [True, False, False]
    assert "cell vector 1" in problem(periodic_without_cell, Labels(1.0), 0.5)


def test_close_pair_in_a_molecule() -> None:
    atoms = water()
    atoms.positions[1] = atoms.positions[0] + [0.3, 0.0, 0.0]
    reason = problem(atoms, Labels(1.0), 0.5)
    assert reason.startswith("atoms 0 (O) and 1 (H) are 0.300 Å apart")
    assert problem(atoms, Labels(1.0), 0.25) is None


def test_close_pair_across_the_periodic_boundary() -> None:
    atoms = Atoms("H2", positions=[[0.1, 5, 5], [9.8, 5, 5]], cell=[10, 10, 10], pbc=True)
    i, j, d = closest_pair(atoms, 0.5)
    assert {i, j} == {0, 1} and d == pytest.approx(0.3)
    atoms.pbc = False  # the same geometry as a molecule: 9.7 Å apart
    assert closest_pair(atoms, 0.5) is None


def test_atom_close_to_its_own_image_in_a_tiny_cell() -> None:
    atoms = Atoms("H", positions=[[0, 0, 0]], cell=[0.4, 5, 5], pbc=True)
    assert "periodic images" in problem(atoms, Labels(1.0), 0.5)


def test_valid_structures_pass() -> None:
    assert problem(water(), Labels(-1.0, forces(3)), 0.5) is None
    assert problem(bulk("Si", cubic=True), Labels(-1.0, forces(8), np.zeros((3, 3))), 0.5) is None


def test_voigt_from_full_tensor() -> None:
    full = np.array([[1, 6, 5], [6, 2, 4], [5, 4, 3]], dtype=float)
    assert voigt_stress(full).tolist() == [1, 2, 3, 4, 5, 6]


def test_content_hash_ignores_noise_below_rounding_but_sees_changes() -> None:
    atoms, labels = water(), Labels(-1.0, forces(3))
    reference = content_hash(atoms, labels)
    jittered = atoms.copy()
    jittered.positions += 1e-13
    assert content_hash(jittered, labels) == reference
    moved = atoms.copy()
    moved.positions[0, 0] += 1e-6
    assert content_hash(moved, labels) != reference
    assert content_hash(atoms, Labels(-1.001, forces(3))) != reference
    assert content_hash(atoms, Labels(-1.0)) != reference  # forces present or not
    assert content_hash(atoms, Labels(-1.0, -0.0 * forces(3))) == reference  # signed zero


def test_closest_pair_matches_brute_force_for_clusters_and_crystals() -> None:
    rng = np.random.default_rng(5)
    cluster = Atoms("H40", positions=rng.uniform(0, 6, (40, 3)))
    distances = cluster.get_all_distances()
    np.fill_diagonal(distances, np.inf)
    i, j, d = closest_pair(cluster, 10.0)
    assert d == pytest.approx(distances.min()) and distances[i, j] == pytest.approx(d)
    crystal = bulk("Cu", cubic=True).repeat(2)
    crystal.rattle(0.1, seed=1)
    periodic = crystal.get_all_distances(mic=True)
    np.fill_diagonal(periodic, np.inf)
    assert closest_pair(crystal, 4.0)[2] == pytest.approx(periodic.min())


def test_all_pairs_path_agrees_with_the_neighbour_list_in_skewed_cells() -> None:
    """The direct minimum-image comparison (small, wide cells) finds exactly the pair ASE's
    neighbour list finds, in random triclinic cells, at cutoffs up to half the narrowest width."""
    from ase.neighborlist import neighbor_list

    rng = np.random.default_rng(11)
    for trial in range(40):
        cell = np.diag(rng.uniform(3.0, 6.0, 3)) + np.triu(rng.uniform(-2.0, 2.0, (3, 3)), 1)
        atoms = Atoms("Ar12", scaled_positions=rng.uniform(0, 1, (12, 3)), cell=cell, pbc=True)
        widths = abs(np.linalg.det(cell)) / np.linalg.norm(
            np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        cutoff = 0.499 * widths.min()
        first, second, distance = neighbor_list("ijd", atoms, cutoff, self_interaction=False)
        found = closest_pair(atoms, cutoff)
        if len(distance) == 0:
            assert found is None
        else:
            assert found is not None
            assert found[2] == pytest.approx(distance.min(), rel=1e-12, abs=1e-12)
