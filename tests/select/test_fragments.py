"""Fragments: exact centre descriptor (Chebyshev), unwrapped periodic images, H saturation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from ase.data import covalent_radii
from ase.neighborlist import neighbor_list

from alearn.descriptors.chebyshev import ChebyshevSpec, collate, features, topology
from alearn.errors import UserError
from alearn.select.fragments import cut_fragment, energy_offsets, fragment_type_key, remove_offsets

torch.set_num_threads(1)
SPEC = ChebyshevSpec(("H", "Si"), radial_cutoff_A=4.0, angular_cutoff_A=3.0, radial_order=8,
                     angular_order=4)


def descriptor(atoms, spec=SPEC) -> np.ndarray:
    graph = collate([atoms], [topology(atoms, spec)])
    return features(spec, graph, torch.as_tensor(atoms.positions, dtype=torch.float64)).numpy()


@pytest.fixture
def silicon():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))     # 64 atoms
    rng = np.random.default_rng(0)
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)      # break the symmetry
    return atoms


@pytest.mark.parametrize("saturate", [False, True])
def test_fragment_reproduces_the_centre_descriptor_exactly(silicon, saturate):
    centre = 13
    frag = cut_fragment(silicon, centre, radius_A=6.0, cutoff_A=4.0, saturate=saturate)
    assert not frag.atoms.pbc.any() and frag.source[0] == centre
    # radius 6 Å > half the cell (5.43 Å): some atoms appear as two periodic images
    assert len(np.unique(frag.source[frag.source >= 0])) < np.sum(frag.source >= 0)
    bulk_row = descriptor(silicon)[centre]
    frag_row = descriptor(frag.atoms)[0]
    assert np.abs(bulk_row).max() > 1.0
    assert np.allclose(frag_row, bulk_row, rtol=0, atol=1e-10)
    if saturate:
        assert frag.caps > 0 and frag.type_key == fragment_type_key(frag.atoms)
        assert frag.type_key.startswith("frag:H") and "Si" in frag.type_key


def test_complete_atoms_keep_their_environment(silicon):
    frag = cut_fragment(silicon, 0, radius_A=7.0, cutoff_A=3.0)
    full, cut = descriptor(silicon, ChebyshevSpec(("Si",), 3.0, 3.0, 6, 3)), \
        descriptor(frag.atoms, ChebyshevSpec(("Si",), 3.0, 3.0, 6, 3))
    complete = np.flatnonzero(frag.complete)
    assert len(complete) > 1
    assert np.allclose(cut[complete], full[frag.source[complete]], atol=1e-10)
    edge = np.flatnonzero(~frag.complete)
    assert not np.allclose(cut[edge], full[frag.source[edge]], atol=1e-6)


def test_hydrogen_saturation_geometry(silicon):
    frag = cut_fragment(silicon, 5, radius_A=5.0, cutoff_A=4.0, saturate=True)
    atoms = frag.atoms
    si_h = covalent_radii[14] + covalent_radii[1]
    caps = np.flatnonzero(frag.source < 0)
    assert len(caps) == frag.caps > 10
    i, j, d, vec = neighbor_list("ijdD", atoms, 2.7)
    pi, pd, pvec = neighbor_list("idD", silicon, 2.7)
    for h in caps:
        near = (i == h) & (atoms.numbers[j] == 14) & (d < 1.6)
        assert near.sum() == 1                               # each cap bonds one Si
        assert d[near][0] == pytest.approx(si_h, abs=1e-9)  # at the typical Si–H length
        # placed along the cut bond: that direction from its Si is a bond direction of the
        # parent crystal, i.e. there is an Si image outside the fragment on the same line
        si = j[near][0]
        direction = -vec[near][0] / d[near][0]
        bonds = pvec[(pi == frag.source[si]) & (pd < 2.7)]
        cosines = bonds @ direction / np.linalg.norm(bonds, axis=1)
        assert cosines.max() == pytest.approx(1.0, abs=1e-9)
    # every Si is four-coordinated again (Si within 2.7 Å plus its caps); caps sit outside R_c
    for k in np.flatnonzero(atoms.numbers == 14):
        mine = i == k
        n_si = np.sum(mine & (atoms.numbers[j] == 14) & (d < 2.7))
        n_h = np.sum(mine & (atoms.numbers[j] == 1) & (np.abs(d - si_h) < 1e-9))
        assert n_si + n_h == 4
    assert np.linalg.norm(atoms.positions[caps] - atoms.positions[0], axis=1).min() >= 4.0


def test_cap_inside_the_cutoff_grows_the_fragment_instead():
    atoms = molecule("C6H6")
    atoms.center(vacuum=4.0)
    frag = cut_fragment(atoms, 0, radius_A=1.5, cutoff_A=1.5, saturate=True)
    assert np.linalg.norm(frag.atoms.positions[frag.source < 0] - atoms.positions[0],
                          axis=1).min() >= 1.5
    assert len(frag.atoms) > 4


def test_radius_below_cutoff_is_a_user_error(silicon):
    with pytest.raises(UserError, match="radius_A"):
        cut_fragment(silicon, 0, radius_A=3.0, cutoff_A=4.0)


def test_energy_offsets_per_fragment_type():
    keys = ["frag:H4Si", "frag:H4Si", "frag:H6Si2"]
    offsets = energy_offsets(keys, [-10.0, -12.0, -20.0], [-10.5, -12.5, -21.0])
    assert offsets == {"frag:H4Si": pytest.approx(0.5), "frag:H6Si2": pytest.approx(1.0)}
    assert np.allclose(remove_offsets(keys, [-10.0, -12.0, -20.0], offsets), [-10.5, -12.5, -21.0])


def test_selection_labels_fragments_of_large_structures(tmp_path, make_result, silicon):
    from alearn.config.explore import FragmentConfig, SelectConfig, TrustConfig
    from alearn.explore.run import ExplorationResult
    from alearn.select.selector import select_candidates

    make_result(tmp_path, [[(10, 0.3, silicon), (40, 0.05, silicon)]])
    cfg = SelectConfig(trust=TrustConfig(lo=0.1, hi=1.0), min_frame_gap=0,
                       fragments=FragmentConfig(enabled=True, radius_A=5.0, cutoff_A=4.0,
                                                saturate=True, min_atoms=20))
    (chosen,) = select_candidates(ExplorationResult.load(tmp_path), cfg).selected
    assert chosen.explanation.atom == 63                 # the scripted most uncertain atom
    assert chosen.fragment.source[0] == 63 and len(chosen.frame) == 64
    assert chosen.atoms is chosen.fragment.atoms and not chosen.atoms.pbc.any()
    assert chosen.subset == chosen.fragment.type_key and chosen.subset.startswith("frag:H")
