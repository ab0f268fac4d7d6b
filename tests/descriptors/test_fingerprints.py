"""Fingerprints for GPR: Jacobians by finite differences; invariance (and Cartesian's lack of it)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule

from alearn.descriptors.fingerprints import Cartesian, InverseDistances, Soap, make_fingerprint


def rattled(name="H2O", count=3, seed=0):
    rng = np.random.default_rng(seed)
    base = molecule(name)
    out = []
    for _ in range(count):
        a = base.copy()
        a.positions += rng.normal(0.0, 0.05, a.positions.shape)
        out.append(a)
    return out


FINGERPRINTS = [InverseDistances(), Cartesian(), Soap(species=("H", "O"), n_max=2, l_max=2, chunk=2)]


@pytest.mark.parametrize("fp", FINGERPRINTS, ids=lambda f: f.kind)
def test_jacobian_matches_finite_differences(fp):
    structures = rattled()
    feats = fp.compute(structures)
    h = 1e-5
    for atom, axis in ((0, 0), (1, 2), (2, 1)):
        plus, minus = structures[1].copy(), structures[1].copy()
        plus.positions[atom, axis] += h
        minus.positions[atom, axis] -= h
        fd = (fp.compute([plus]).x[0] - fp.compute([minus]).x[0]) / (2 * h)
        np.testing.assert_allclose(feats.jac[1][:, 3 * atom + axis], fd, atol=1e-6 * max(1, np.abs(fd).max()))


def test_shapes_and_chunking_agree():
    structures = rattled(count=5)
    small = Soap(species=("H", "O"), n_max=2, l_max=2, chunk=2).compute(structures)
    large = Soap(species=("H", "O"), n_max=2, l_max=2, chunk=10).compute(structures)
    np.testing.assert_allclose(small.x, large.x)
    np.testing.assert_allclose(small.jac, large.jac)
    inv = InverseDistances().compute(structures)
    assert inv.x.shape == (5, 3) and inv.jac.shape == (5, 3, 9)


def _rotated_translated(atoms, seed=3):
    from scipy.spatial.transform import Rotation

    out = atoms.copy()
    rot = Rotation.random(random_state=seed).as_matrix()
    out.positions = atoms.positions @ rot.T + np.array([1.3, -0.7, 2.1])
    return out


@pytest.mark.parametrize("fp", [InverseDistances(), Soap(species=("H", "O"), n_max=2, l_max=2)],
                         ids=lambda f: f.kind)
def test_invariant_fingerprints_are_invariant(fp):
    atoms = rattled(count=1)[0]
    np.testing.assert_allclose(fp.compute([_rotated_translated(atoms)]).x, fp.compute([atoms]).x,
                               rtol=1e-8, atol=1e-10)
    assert fp.invariant


def test_cartesian_is_not_invariant():
    atoms = rattled(count=1)[0]
    fp = Cartesian()
    assert not fp.invariant
    assert np.abs(fp.compute([_rotated_translated(atoms)]).x - fp.compute([atoms]).x).max() > 0.1


def test_spec_round_trip_and_mixed_sizes_rejected():
    soap = Soap(species=("H", "O"), n_max=3, l_max=2, r_cut_A=4.0)
    assert make_fingerprint(soap.spec()) == soap
    assert make_fingerprint(InverseDistances().spec()) == InverseDistances()
    with pytest.raises(ValueError, match="one atom count"):
        InverseDistances().compute([molecule("H2O"), molecule("CH4")])


def test_periodic_soap_jacobian_numerical_in_dscribe_matches_finite_differences():
    from ase.build import bulk

    atoms = bulk("Si", "diamond", a=5.43)
    atoms.rattle(0.05, seed=1)
    fp = Soap(species=("Si",), r_cut_A=3.5, n_max=2, l_max=2, periodic=True)
    jac = fp.compute([atoms]).jac[0]
    h = 1e-5
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[1, 2] += h
    minus.positions[1, 2] -= h
    fd = (fp.compute([plus]).x[0] - fp.compute([minus]).x[0]) / (2 * h)
    np.testing.assert_allclose(jac[:, 5], fd, atol=1e-6)
