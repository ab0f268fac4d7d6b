"""Taylor augmentation: exact labels for a linear potential, strategies, skipping, provenance."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from alearn.augment.taylor import taylor_augment, taylor_copies
from alearn.config.ann import TaylorConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source


def linear_structure(rng, n=5, row_id=7):
    """E(R) = e0 − Σ_i g_i · R_i: forces are the constant g_i, Taylor is exact."""
    atoms = Atoms(["O"] + ["H"] * (n - 1), positions=rng.normal(size=(n, 3)) * 2)
    g = rng.normal(size=(n, 3))
    energy = 3.0 - float(np.sum(g * atoms.positions))
    labels = Labels(energy=energy, forces=g)
    return LabelledStructure(atoms, labels, Provenance(Source.REFERENCE, iteration=2), id=row_id), g


@pytest.mark.parametrize("strategy", ["A", "B"])
def test_labels_exact_for_linear_potential(strategy):
    rng = np.random.default_rng(0)
    ref, g = linear_structure(rng)
    cfg = TaylorConfig(strategy=strategy, multiple=12, delta_A=0.05, delta_per_element_A={"H": 0.02})
    out = taylor_augment([ref], cfg, np.random.default_rng(1))
    assert len(out) == 12
    for derived in out:
        exact = 3.0 - float(np.sum(g * derived.atoms.positions))
        assert derived.labels.energy == pytest.approx(exact, abs=1e-12)
        assert derived.labels.forces is None
        assert derived.provenance.source is Source.TAYLOR
        assert derived.provenance.parent == 7 and derived.provenance.iteration == 2
        move = derived.atoms.positions - ref.atoms.positions
        assert np.abs(move).max() > 0
        if strategy == "A":
            moved = np.flatnonzero(np.abs(move).sum(1) > 0)
            assert len(moved) == 1 and np.count_nonzero(move) == 1
            limit = 0.05 if moved[0] == 0 else 0.02
            assert np.abs(move).max() == pytest.approx(limit)
        else:
            np.testing.assert_allclose(move.mean(0), 0.0, atol=1e-15)


def test_strategy_b_within_delta_before_centring():
    rng = np.random.default_rng(3)
    ref, _ = linear_structure(rng, n=40)
    out = taylor_augment([ref], TaylorConfig(strategy="B", multiple=30, delta_A=0.01), rng)
    moves = np.array([d.atoms.positions - ref.atoms.positions for d in out])
    # centring shifts every atom by the same small vector; |δ_i| ≤ δmax + |mean|
    assert np.linalg.norm(moves, axis=2).max() <= 0.01 * 1.5
    assert np.linalg.norm(moves, axis=2).mean() > 0.004


def test_near_zero_forces_and_missing_forces_are_skipped():
    atoms = Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]])
    relaxed = LabelledStructure(atoms, Labels(-1.0, forces=np.full((2, 3), 1e-4)), Provenance(Source.REFERENCE))
    no_forces = LabelledStructure(atoms, Labels(-1.0), Provenance(Source.REFERENCE))
    cfg = TaylorConfig(min_force_eV_A=0.01)
    assert taylor_augment([relaxed, no_forces], cfg, np.random.default_rng(0)) == []


def test_strategy_a_caps_multiple_at_six_per_atom():
    rng = np.random.default_rng(0)
    ref, _ = linear_structure(rng, n=2)
    out = taylor_augment([ref], TaylorConfig(strategy="A", multiple=50, delta_A=0.03), rng)
    assert len(out) == 12
    keys = {tuple(np.round(d.atoms.positions - ref.atoms.positions, 6).ravel()) for d in out}
    assert len(keys) == 12


def test_taylor_copies_of_given_moves_are_first_order_and_keep_provenance():
    rng = np.random.default_rng(5)
    ref, g = linear_structure(rng, n=3, row_id=11)
    moves = rng.normal(scale=0.02, size=(4, 3, 3))
    out = taylor_copies(ref, moves)
    assert len(out) == 4
    for move, derived in zip(moves, out):
        np.testing.assert_allclose(derived.atoms.positions, ref.atoms.positions + move, atol=1e-14)
        assert derived.labels.energy == pytest.approx(ref.labels.energy - float(np.sum(move * g)), abs=1e-12)
        assert derived.provenance.parent == 11 and derived.provenance.source is Source.TAYLOR
    with pytest.raises(ValueError, match="forces"):
        taylor_copies(LabelledStructure(ref.atoms, Labels(1.0), ref.provenance), moves)
