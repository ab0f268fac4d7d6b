"""Held-out split (deterministic, fixed fraction) and the evaluation metrics."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from alearn.campaign.evaluate import calibration, errors
from alearn.campaign.testset import is_test, split, structure_key
from alearn.data.records import LabelledStructure, Labels, Provenance, Source
from alearn.models.prediction import Prediction


def row(i: int, source: Source = Source.REFERENCE, parent: int | None = None,
        forces: np.ndarray | None = None) -> LabelledStructure:
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7 + 0.001 * i]])
    f = np.array([[0, 0, 1.0], [0, 0, -1.0]]) if forces is None else forces
    return LabelledStructure(atoms, Labels(energy=-1.0 - 0.01 * i, forces=f),
                             Provenance(source, job_hash=None if source != Source.REFERENCE else f"job{i}",
                                        parent=parent), id=i)


def test_membership_is_deterministic_and_near_the_fraction() -> None:
    keys = [f"job{i}" for i in range(4000)]
    chosen = [is_test(k, 3, 0.1) for k in keys]
    assert chosen == [is_test(k, 3, 0.1) for k in keys]
    assert 0.08 < np.mean(chosen) < 0.12
    assert chosen != [is_test(k, 4, 0.1) for k in keys]
    assert not any(is_test(k, 3, 0.0) for k in keys)


def test_split_holds_out_and_drops_children_of_test_rows() -> None:
    rows = [row(i) for i in range(1, 200)]
    test = [r.id for r in rows if is_test(r.provenance.job_hash, 0, 0.2)]
    parent = test[0]
    rows.append(row(500, Source.TAYLOR, parent=parent))
    rows.append(row(501, Source.TAYLOR, parent=next(r.id for r in rows if r.id not in test)))
    result = split(rows, 0, 0.2)
    assert list(result.test) == sorted(test)
    assert 500 not in result.train and 500 not in result.test and 501 in result.train
    assert not set(result.train) & set(result.test)


def test_structure_key_depends_on_positions() -> None:
    a, b = row(1).atoms, row(2).atoms
    assert structure_key(a) == structure_key(a.copy()) != structure_key(b)


def _prediction(rows, de=0.0, df=0.0, std=None):
    forces = tuple(r.labels.forces + df for r in rows)
    std = np.linspace(0.1, 1.0, len(rows)) if std is None else std
    return Prediction(energy=np.array([r.labels.energy + de for r in rows]), forces=forces,
                      energy_std=std, forces_std=tuple(np.full(2, s) for s in std))


def test_errors_of_a_perfect_and_a_shifted_prediction() -> None:
    rows = [row(i) for i in range(6)]
    perfect = errors(rows, _prediction(rows))
    assert perfect["energy_mae_eV_atom"] == 0 and perfect["force_rmse_eV_A"] == 0
    assert perfect["force_angle_mean_deg"] == pytest.approx(0.0, abs=1e-6)
    shifted = errors(rows, _prediction(rows, de=0.2, df=0.1))
    assert shifted["energy_mae_eV_atom"] == pytest.approx(0.1)
    assert shifted["force_mae_eV_A"] == pytest.approx(0.1)


def test_force_direction_error_of_a_rotated_force() -> None:
    rows = [row(0)]
    rotated = Prediction(energy=np.array([-1.0]), forces=(np.array([[0, 1.0, 0], [0, -1.0, 0]]),),
                         energy_std=np.array([0.1]))
    assert errors(rows, rotated)["force_angle_mean_deg"] == pytest.approx(90.0)


def test_calibration_ranks_uncertainty_against_error() -> None:
    rows = [row(i) for i in range(10)]
    std = np.linspace(0.1, 1.0, 10)
    forces = tuple(r.labels.forces + s for r, s in zip(rows, std))
    good = Prediction(energy=np.zeros(10), forces=forces, energy_std=std,
                      forces_std=tuple(np.full(2, s) for s in std))
    table = calibration(rows, good, bins=5)
    assert table["spearman"] == pytest.approx(1.0)
    assert len(table["bins"]) == 5 and table["bins"][0]["actual"] < table["bins"][-1]["actual"]
    bad = Prediction(energy=np.zeros(10), forces=forces, energy_std=std,
                     forces_std=tuple(np.full(2, s) for s in std[::-1]))
    assert calibration(rows, bad, bins=5)["spearman"] == pytest.approx(-1.0)


def test_no_rank_correlation_from_too_few_structures() -> None:
    rows = [row(i) for i in range(3)]
    std = np.array([0.1, 0.5, 0.3])
    forces = tuple(r.labels.forces + s for r, s in zip(rows, std))
    few = Prediction(energy=np.zeros(3), forces=forces, energy_std=std,
                     forces_std=tuple(np.full(2, s) for s in std[::-1]))
    table = calibration(rows, few, bins=5)
    assert table["spearman"] is None  # 3 frames would give a perfect -1: noise, not calibration
    assert sum(b["structures"] for b in table["bins"]) == 3
