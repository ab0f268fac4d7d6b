"""Close-contact correction set reaches its target distances."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.neighborlist import neighbor_list

from alearn.explore.run import ExplorationResult
from alearn.explore.sanity import min_pair_distances
from alearn.select.close_contact import close_contact_seeds, close_contact_set


def shortest(atoms, pair):
    i, j, d = neighbor_list("ijd", atoms, 6.0)
    zi, zj = atoms.numbers[i], atoms.numbers[j]
    mask = (np.minimum(zi, zj) == pair[0]) & (np.maximum(zi, zj) == pair[1])
    return d[mask].min()


def test_every_pair_reaches_its_target_below_the_data():
    rocksalt = bulk("NaCl", "rocksalt", a=5.64, cubic=True).repeat((2, 1, 1))
    rocksalt.rattle(0.05, seed=1)
    data_min = min_pair_distances([rocksalt], cutoff_A=5.0)
    assert set(data_min) == {(11, 11), (11, 17), (17, 17)}
    made = close_contact_set([rocksalt], data_min, margin_A=0.1, per_pair=3,
                             rng=np.random.default_rng(0))
    assert len(made) == 9
    for item in made:
        pair = tuple(sorted(item.atoms.numbers[list(item.atoms_ij)]))
        assert item.target_A == pytest.approx(data_min[pair] - 0.1)
        assert item.target_A - 0.1 - 1e-9 <= item.distance_A <= item.target_A + 1e-9
        assert shortest(item.atoms, pair) == pytest.approx(item.distance_A, abs=1e-9)
        assert 0.75 - 1e-12 <= item.compression <= 1.0
    assert {item.pair for item in made} == {"Na-Na", "Na-Cl", "Cl-Cl"}


def test_constrained_relaxation_keeps_the_pinched_pair():
    copper = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    copper.rattle(0.02, seed=2)
    data_min = min_pair_distances([copper], cutoff_A=4.0)
    (plain,) = close_contact_set([copper], data_min, margin_A=0.3, per_pair=1,
                                 rng=np.random.default_rng(3))
    (relaxed,) = close_contact_set([copper], data_min, margin_A=0.3, per_pair=1,
                                   rng=np.random.default_rng(3), relax=EMT, relax_steps=5)
    assert relaxed.distance_A == pytest.approx(plain.distance_A, abs=1e-12)
    assert shortest(relaxed.atoms, (29, 29)) == pytest.approx(relaxed.distance_A, abs=1e-9)
    i, j = relaxed.atoms_ij
    others = [k for k in range(len(copper)) if k not in (i, j)]
    moved = np.linalg.norm(relaxed.atoms.positions[others] - plain.atoms.positions[others], axis=1)
    assert moved.max() > 1e-3 and relaxed.atoms.calc is None and not relaxed.atoms.constraints


def test_seeds_come_from_near_contact_frames(tmp_path, make_result, make_dimer):
    from alearn.explore.frames import FrameWriter
    from alearn.explore.monitor import Check, Counts, FrameStatus
    from alearn.explore.walker import WalkerOutcome

    writer = FrameWriter(make_dimer(0.7).numbers, make_dimer(0.7).pbc)
    for step, ratio in [(10, 2.0), (20, 1.1), (30, 0.9), (40, 0.2)]:
        near = ratio < 1.15
        status = FrameStatus.ACCURATE if ratio > 1 else FrameStatus.INSANE
        writer.add(make_dimer(0.37 * ratio), step, -1.0,
                   Check(status, 0.01, None, (), None, ratio, near))
    writer.write(tmp_path / "walker_000.npz")
    outcome = WalkerOutcome(0, 0, "walker_000.npz", 4, 40, "failed", 0, (), Counts.of(writer.codes()))
    result = ExplorationResult(1, tmp_path, (outcome,), 0.1, 1.0)
    seeds = close_contact_seeds(result)
    assert [round(s.get_distance(1, 2) / 0.37, 3) for s in seeds] == [0.9, 1.1]


def test_correction_set_only_when_enabled_and_needed(tmp_path, make_result, make_dimer):
    from alearn.config.explore import CloseContactConfig
    from alearn.select.close_contact import correction_set

    training = [make_dimer(0.74), make_dimer(0.80)]
    (tmp_path / "calm").mkdir()
    calm = make_result(tmp_path / "calm", [[(10, 0.2, make_dimer(0.75))]])
    assert correction_set(calm, training, CloseContactConfig(), np.random.default_rng(0)) == []
    (tmp_path / "near").mkdir()
    near = ExplorationResult.load(_near_contact_result(tmp_path / "near", make_dimer))
    made = correction_set(near, training, CloseContactConfig(per_pair=1), np.random.default_rng(0))
    assert {m.pair for m in made} == {"H-H", "H-O"}
    assert all(m.distance_A <= m.target_A for m in made)
    assert correction_set(near, training, CloseContactConfig(enabled=False),
                          np.random.default_rng(0)) == []


def _near_contact_result(path, make_dimer):
    from alearn.explore.frames import FrameWriter
    from alearn.explore.monitor import Check, Counts, FrameStatus
    from alearn.explore.walker import WalkerOutcome

    atoms = make_dimer(0.45)
    writer = FrameWriter(atoms.numbers, atoms.pbc)
    writer.add(atoms, 10, -1.0, Check(FrameStatus.ACCURATE, 0.01, None, (), None, 1.1, True))
    writer.write(path / "walker_000.npz")
    outcome = WalkerOutcome(0, 0, "walker_000.npz", 1, 10, "completed", 0, (), Counts.of(writer.codes()))
    ExplorationResult(1, path, (outcome,), 0.1, 1.0).save_index()
    return path


def test_targets_stop_at_the_walkers_sanity_limit():
    """The set never goes below the distance at which walkers are stopped as insane: the
    target is floored there, and a pair whose data already reach it gets no structure."""
    from alearn.explore.sanity import PairLimits

    copper = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    copper.rattle(0.02, seed=2)
    data_min = min_pair_distances([copper], cutoff_A=4.0)            # ≈ 2.5 Å
    shortest_cu = data_min[(29, 29)]
    floor = PairLimits(overrides=(((29, 29), shortest_cu - 0.05),))
    made = close_contact_set([copper], data_min, margin_A=0.3, per_pair=4,
                             rng=np.random.default_rng(5), limits=floor)
    assert len(made) == 4
    for item in made:
        assert item.target_A == pytest.approx(shortest_cu - 0.05)    # not shortest − 0.3
        assert item.distance_A == pytest.approx(item.target_A, abs=1e-9)
        assert shortest(item.atoms, (29, 29)) >= shortest_cu - 0.05 - 1e-3
    reached = PairLimits(overrides=(((29, 29), shortest_cu + 0.01),))
    assert close_contact_set([copper], data_min, margin_A=0.3, per_pair=4,
                             rng=np.random.default_rng(5), limits=reached) == []
    unbounded = close_contact_set([copper], data_min, margin_A=0.3, per_pair=1,
                                  rng=np.random.default_rng(5))
    assert unbounded[0].target_A == pytest.approx(shortest_cu - 0.3)
