"""Chebyshev descriptor: sizes, type spins, values against a direct formula, neighbour lists."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from alearn.descriptors.chebyshev import ChebyshevSpec, collate, features, topology, type_spins
from alearn.descriptors.neighbours import VerletList, pair_list
from alearn.errors import UserError

torch.set_num_threads(1)


@pytest.mark.parametrize("elements, n_rad, n_ang, rc_ang, size", [
    (("O", "H"), 18, 4, 4.0, 48),          # water (seed 000)
    (("C", "H", "O"), 12, 4, 3.0, 36),     # ethylene carbonate
    (("H",), 10, 0, 0.0, 11),              # H2 dimer, no angular cutoff
])
def test_feature_counts_match_the_papers(elements, n_rad, n_ang, rc_ang, size):
    assert ChebyshevSpec(elements, 6.0, rc_ang, n_rad, n_ang).n_features == size


def test_type_spins():
    assert type_spins(2) == (-1, 1)
    assert type_spins(3) == (-1, 0, 1)
    assert type_spins(4) == (-2, -1, 1, 2)
    assert type_spins(5) == (-2, -1, 0, 1, 2)


def direct(atoms, spec, centre):
    """The SCIENCE.md §1 sums written out with numpy loops."""
    spins = dict(zip(spec.elements, type_spins(len(spec.elements))))
    fc = lambda r, rc: 0.5 * (math.cos(math.pi * r / rc) + 1) if r < rc else 0.0  # noqa: E731
    T = lambda n, x: np.polynomial.chebyshev.chebval(x, [0] * n + [1])  # noqa: E731
    pos, sym = atoms.positions, atoms.get_chemical_symbols()
    others = [j for j in range(len(atoms)) if j != centre]
    rad = np.zeros((2, spec.radial_order + 1))
    ang = np.zeros((2, spec.angular_order + 1))
    for j in others:
        r = np.linalg.norm(pos[j] - pos[centre])
        for a in range(spec.radial_order + 1):
            v = T(a, 2 * r / spec.radial_cutoff_A - 1) * fc(r, spec.radial_cutoff_A)
            rad[0, a] += v
            rad[1, a] += v * spins[sym[j]]
    for x, j in enumerate(others):
        for k in others[x + 1:]:
            dj, dk = pos[j] - pos[centre], pos[k] - pos[centre]
            rj, rk = np.linalg.norm(dj), np.linalg.norm(dk)
            cos = dj @ dk / (rj * rk)
            w = fc(rj, spec.angular_cutoff_A) * fc(rk, spec.angular_cutoff_A)
            for a in range(spec.angular_order + 1):
                ang[0, a] += T(a, cos) * w
                ang[1, a] += T(a, cos) * w * spins[sym[j]] * spins[sym[k]]
    return np.concatenate([rad[0], ang[0], rad[1], ang[1]])


def test_values_match_direct_formula_for_a_molecule():
    rng = np.random.default_rng(0)
    atoms = Atoms("CHHOHC", positions=rng.uniform(0, 3.5, size=(6, 3)))
    spec = ChebyshevSpec(("C", "H", "O"), 4.0, 3.0, 5, 3)
    graph = collate([atoms], [topology(atoms, spec)])
    g = features(spec, graph, torch.as_tensor(atoms.positions)).numpy()
    for centre in range(len(atoms)):
        np.testing.assert_allclose(g[centre], direct(atoms, spec, centre), atol=1e-12)


def test_batched_equals_one_by_one():
    spec = ChebyshevSpec(("Cu",), 4.5, 3.0, 6, 3)
    structures = [bulk("Cu", "fcc", a=3.6).repeat((2, 2, 2)), bulk("Cu", "fcc", a=3.7, cubic=True)]
    structures[0].rattle(0.05, seed=1)
    topos = [topology(a, spec) for a in structures]
    pos = torch.as_tensor(np.concatenate([a.positions for a in structures]))
    together = features(spec, collate(structures, topos), pos)
    apart = torch.cat([features(spec, collate([a], [t]), torch.as_tensor(a.positions))
                       for a, t in zip(structures, topos)])
    torch.testing.assert_close(together, apart)


@pytest.mark.parametrize("pbc", [True, False])
def test_pairs_match_ase_neighbor_list(pbc):
    atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 2, 2))
    atoms.cell[1] += [0.7, 0.0, 0.3]  # triclinic
    atoms.rattle(0.05, seed=0)
    atoms.pbc = pbc
    ours = pair_list(atoms, 5.0)
    i, j, s = neighbor_list("ijS", atoms, 5.0)
    assert sorted(zip(ours.i, ours.j, map(tuple, ours.shifts))) == sorted(zip(i, j, map(tuple, s)))


def test_verlet_list_rebuilds_only_after_half_skin():
    atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 2, 2))
    verlet = VerletList(4.0, skin_A=0.6)
    verlet.get(atoms)
    atoms.positions[0, 0] += 0.2
    verlet.get(atoms)
    assert verlet.builds == 1
    atoms.positions[0, 0] += 0.15
    verlet.get(atoms)
    assert verlet.builds == 2


def test_unknown_element_is_a_user_error():
    spec = ChebyshevSpec(("Cu",), 4.0, 3.0, 4, 2)
    with pytest.raises(UserError, match="contains \\['Au'\\]"):
        topology(Atoms("CuAu", positions=[[0, 0, 0], [2.5, 0, 0]]), spec)


def test_float32_closed_form_matches_recursion_including_endpoints():
    from alearn.descriptors.chebyshev_vjp import chebyshev_with_derivative

    x = torch.cat([torch.linspace(-1.0, 1.0, 2001, dtype=torch.float64),
                   torch.tensor([1 - 1e-9, -1 + 1e-9], dtype=torch.float64)])
    t64, d64 = chebyshev_with_derivative(x, 18)
    t32, d32 = chebyshev_with_derivative(x.float(), 18)
    assert torch.isfinite(d32).all()
    torch.testing.assert_close(t32.double(), t64, atol=2e-5, rtol=0)
    torch.testing.assert_close(d32.double() / 18**2, d64 / 18**2, atol=2e-4, rtol=0)
