"""Fragments: exact centre descriptor (Chebyshev), unwrapped periodic images, H saturation,
whole molecules (periodic water), infinite networks, completeness against brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule
from ase.data import covalent_radii
from ase.io import read
from ase.neighborlist import natural_cutoffs, neighbor_list
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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
    frag = cut_fragment(silicon, centre, radius_A=6.0, cutoff_A=4.0, saturate=saturate,
                        whole_molecules=False)
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
    frag = cut_fragment(silicon, 0, radius_A=7.0, cutoff_A=3.0, whole_molecules=False)
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
    frag = cut_fragment(atoms, 0, radius_A=1.5, cutoff_A=1.5, saturate=True,
                        whole_molecules=False)
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


# --- whole molecules (molecular liquids) and infinite networks --------------------------------

WATER_SPEC = ChebyshevSpec(("H", "O"), radial_cutoff_A=4.5, angular_cutoff_A=3.5, radial_order=8,
                           angular_order=4)
WATER_BOX = Path(__file__).parents[2] / "campaigns" / "structures" / "water-box-32.xyz"


@pytest.fixture
def water():
    """32 waters in a 9.86 Å box, shifted and wrapped so that molecules straddle the faces."""
    atoms = read(WATER_BOX)
    atoms.positions += [3.3, 4.1, 5.7]
    atoms.wrap()
    i, j, d = neighbor_list("ijd", atoms, 1.2)
    raw = np.linalg.norm(atoms.positions[i] - atoms.positions[j], axis=1)
    assert np.sum(raw > d + 1.0) >= 4                    # some O–H bonds cross the cell faces
    return atoms


def molecules(atoms) -> list[np.ndarray]:
    """Atom indices of each connected component of a non-periodic fragment's bond graph."""
    i, j = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=1.2))
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(atoms), len(atoms)))
    _, label = connected_components(graph, directed=False)
    return [np.flatnonzero(label == k) for k in np.unique(label)]


def brute_force_complete(parent, frag, cutoff_A) -> np.ndarray:
    """Per fragment atom: every parent image (explicit ±2-cell translations) within cutoff_A
    has a fragment atom on it, and no cap is within cutoff_A."""
    grid = np.array([(a, b, c) for a in range(-2, 3) for b in range(-2, 3) for c in range(-2, 3)])
    images = (parent.positions[None, :, :] + (grid @ parent.cell.array)[:, None, :]).reshape(-1, 3)
    pos, caps = frag.atoms.positions, frag.atoms.positions[frag.source < 0]
    result = np.zeros(len(pos), dtype=bool)
    for k in np.flatnonzero(frag.source >= 0):
        near = images[np.linalg.norm(images - pos[k], axis=1) < cutoff_A]
        found = np.linalg.norm(near[:, None, :] - pos[None, :, :], axis=2).min(axis=1) < 1e-6
        no_cap = len(caps) == 0 or np.linalg.norm(caps - pos[k], axis=1).min() >= cutoff_A
        result[k] = found.all() and no_cap
    return result


@pytest.mark.parametrize("centre, radius", [(0, 4.5), (7, 4.5), (30, 6.0), (61, 6.0)])
def test_water_fragments_hold_whole_unwrapped_molecules(water, centre, radius):
    frag = cut_fragment(water, centre, radius_A=radius, cutoff_A=4.5)
    assert frag.caps == 0 and frag.source[0] == centre and not frag.atoms.pbc.any()
    n_water = len(frag.atoms) // 3
    assert frag.type_key == f"frag:H{2 * n_water}O{n_water}"
    for mol in molecules(frag.atoms):
        assert sorted(frag.atoms.numbers[mol]) == [1, 1, 8]
        o, hs = mol[frag.atoms.numbers[mol] == 8][0], mol[frag.atoms.numbers[mol] == 1]
        for h in hs:                                         # real bond lengths, unwrapped
            parent_length = water.get_distance(frag.source[o], frag.source[h], mic=True)
            assert frag.atoms.get_distance(o, h) == pytest.approx(parent_length, abs=1e-9)
    # every atom image within the radius is there; whole molecules reach beyond it
    i, d = neighbor_list("id", water, radius)
    assert len(frag.atoms) > np.sum(i == centre) + 1
    assert np.linalg.norm(frag.atoms.positions - frag.atoms.positions[0], axis=1).max() > radius


@pytest.mark.parametrize("whole, saturate", [(True, False), (False, True)])
def test_water_fragment_centre_descriptor_and_completeness(water, whole, saturate):
    parent = descriptor(water, WATER_SPEC)
    for centre in (4, 45):                                   # an H atom and an O atom
        frag = cut_fragment(water, centre, radius_A=6.0, cutoff_A=4.5, saturate=saturate,
                            whole_molecules=whole)
        cut = descriptor(frag.atoms, WATER_SPEC)
        assert np.abs(parent[centre]).max() > 1.0
        assert np.allclose(cut[0], parent[centre], rtol=0, atol=1e-10)
        expected = brute_force_complete(water, frag, 4.5)
        assert frag.complete.dtype == bool and np.array_equal(frag.complete, expected)
        assert np.array_equal(frag.atoms.arrays["alearn_complete"], frag.complete)
        assert frag.complete[0] and 1 < frag.complete.sum() < len(frag.atoms)
        rows = np.flatnonzero(frag.complete)
        assert np.allclose(cut[rows], parent[frag.source[rows]], rtol=0, atol=1e-10)
        assert saturate == (frag.caps > 0)


def test_spherical_saturated_water_caps_oxygens_and_drops_orphan_hydrogens(water):
    centre, radius = 10, 6.0
    frag = cut_fragment(water, centre, radius_A=radius, cutoff_A=4.5, saturate=True,
                        whole_molecules=False)
    i, j = neighbor_list("ij", water, radius)
    spherical = np.concatenate([[centre], j[i == centre]])
    kept_h = np.sum((frag.source >= 0) & (frag.atoms.numbers == 1))
    assert kept_h < np.sum(water.numbers[spherical] == 1)    # orphan hydrogens were dropped
    assert frag.caps > 0
    for mol in molecules(frag.atoms):                        # no OH radicals, no lone H
        assert sorted(frag.atoms.numbers[mol]) == [1, 1, 8]
    caps = frag.atoms.positions[frag.source < 0]
    oxygen = frag.atoms.positions[frag.atoms.numbers == 8]
    o_h = covalent_radii[8] + covalent_radii[1]
    assert np.allclose(np.linalg.norm(caps[:, None] - oxygen[None], axis=2).min(axis=1), o_h)
    assert np.linalg.norm(caps - frag.atoms.positions[0], axis=1).min() >= 4.5


def test_hydrogen_inside_the_cutoff_keeps_its_partner(water):
    """radius = cutoff: an H inside the sphere whose O is outside takes the O in (not dropped)."""
    grown = 0
    for centre in range(0, 96, 5):
        frag = cut_fragment(water, centre, radius_A=4.5, cutoff_A=4.5, saturate=True,
                            whole_molecules=False)
        oxygen = frag.atoms.numbers == 8
        grown += np.sum(np.linalg.norm(frag.atoms.positions[oxygen] - frag.atoms.positions[0],
                                       axis=1) > 4.5)
        assert all(len(m) == 3 for m in molecules(frag.atoms))
    assert grown > 0


def test_infinite_network_without_saturation_is_cut_as_a_plain_cluster():
    copper = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    whole = cut_fragment(copper, 0, radius_A=5.0, cutoff_A=4.0)
    plain = cut_fragment(copper, 0, radius_A=5.0, cutoff_A=4.0, whole_molecules=False)
    assert plain.caps == 0 and plain.type_key.startswith("frag:Cu")
    assert np.array_equal(whole.source, plain.source)
    assert np.allclose(whole.atoms.positions, plain.atoms.positions, atol=1e-12)


def test_infinite_network_falls_back_to_the_saturated_spherical_cut(silicon):
    whole = cut_fragment(silicon, 13, radius_A=6.0, cutoff_A=4.0, saturate=True)
    sphere = cut_fragment(silicon, 13, radius_A=6.0, cutoff_A=4.0, saturate=True,
                          whole_molecules=False)
    assert whole.caps > 0 and np.array_equal(whole.source, sphere.source)
    assert np.allclose(whole.atoms.positions, sphere.atoms.positions, atol=1e-12)
    assert np.array_equal(whole.complete, sphere.complete)


def test_mixed_chain_and_molecules():
    """A periodic carbon chain (bonded to its own image) beside water: the chain is cut and
    capped, the waters come whole; the centre's environment is that of the parent."""
    chain = Atoms("C6", positions=[(2.0, 2.0, 1.25 * k) for k in range(6)])
    box = Atoms(cell=[11.0, 11.0, 7.5], pbc=True) + chain
    for k, (x, y, z) in enumerate([(5.5, 2.0, 0.3), (2.0, 5.6, 3.4), (6.0, 6.0, 7.2),
                                   (9.0, 9.0, 5.0)]):
        h2o = molecule("H2O")
        h2o.rotate(40 * k, "z")
        h2o.translate((x, y, z))
        box += h2o
    box.wrap()
    frag = cut_fragment(box, 0, radius_A=5.0, cutoff_A=4.0, saturate=True)
    spec = ChebyshevSpec(("H", "C", "O"), 4.0, 3.0, 6, 3)
    assert np.allclose(descriptor(frag.atoms, spec)[0], descriptor(box, spec)[0], atol=1e-10)
    assert frag.caps == 2                                  # both ends of the cut chain
    waters = [m for m in molecules(frag.atoms) if 8 in frag.atoms.numbers[m]]
    assert waters and all(sorted(frag.atoms.numbers[m]) == [1, 1, 8] for m in waters)
    assert np.array_equal(frag.complete, brute_force_complete(box, frag, 4.0))
    uncapped = cut_fragment(box, 0, radius_A=5.0, cutoff_A=4.0)       # chain cut, not capped
    assert uncapped.caps == 0 and 1 not in uncapped.atoms.numbers[uncapped.source < 0]
    assert all(sorted(uncapped.atoms.numbers[m]) == [1, 1, 8]
               for m in molecules(uncapped.atoms) if 8 in uncapped.atoms.numbers[m])


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, False, False)])
def test_spherical_cut_takes_exactly_the_images_within_the_radius(pbc):
    """Triclinic cell, radius beyond the cell widths, mixed periodicity: the same images (and
    positions) as ASE's neighbour list."""
    atoms = bulk("Si", "diamond", a=5.43).repeat((2, 3, 2))             # primitive: triclinic
    atoms.positions += np.random.default_rng(1).normal(0.0, 0.05, atoms.positions.shape)
    atoms.pbc = pbc
    centre, radius = 7, 7.5
    frag = cut_fragment(atoms, centre, radius_A=radius, cutoff_A=4.0, whole_molecules=False)
    i, j, vec = neighbor_list("ijD", atoms, radius)
    expected = atoms.positions[centre] + vec[i == centre]
    got = frag.atoms.positions[1:]
    assert len(got) == len(expected) and frag.source[0] == centre
    order_e, order_g = np.lexsort(expected.T), np.lexsort(got.T)
    assert np.allclose(got[order_g], expected[order_e], atol=1e-9)
    assert np.array_equal(frag.source[1:][order_g], j[i == centre][order_e])
