"""MaxVol active set and extrapolation grades."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alearn.errors import UserError
from alearn.select.doptimal import ActiveSet, maxvol, structure_grades


def test_maxvol_rows_dominate_every_row():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 6)) * [3, 2, 1, 1, 0.5, 0.1]
    idx = maxvol(x, tol=1e-3)
    assert len(set(idx.tolist())) == 6
    coeff = x @ np.linalg.inv(x[idx])
    assert np.abs(coeff).max() <= 1.0 + 1e-3 + 1e-9
    np.testing.assert_allclose(coeff[idx], np.eye(6), atol=1e-9)


def test_maxvol_volume_is_near_the_best_on_a_small_case():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 3))
    best = max(abs(np.linalg.det(x[list(c)])) for c in itertools.combinations(range(12), 3))
    got = abs(np.linalg.det(x[maxvol(x, tol=1e-6)]))
    # a dominant submatrix has volume at least best / d^(d/2) (Goreinov et al.); usually equal
    assert got >= best / 3 ** 1.5


def test_too_few_training_atoms_is_a_clear_error():
    with pytest.raises(UserError, match="at least as many training atoms"):
        maxvol(np.ones((3, 5)))
    with pytest.raises(UserError, match="span only"):
        maxvol(np.ones((10, 2)))


def test_grades_interpolate_inside_and_extrapolate_outside():
    rng = np.random.default_rng(3)
    rows = {0: rng.normal(size=(50, 4)), 1: rng.normal(size=(30, 2))}
    active = ActiveSet.fit(rows, tol=1e-3)
    species = np.array([0] * 50 + [1] * 30)
    blocks = (slice(0, 4), slice(4, 6))
    full = np.zeros((80, 6))
    full[:50, :4], full[50:, 4:] = rows[0], rows[1]
    grades = active.grades(species, full, blocks)
    assert grades.max() <= 1.0 + 1e-3 + 1e-9
    far = full[:1] * 0.0
    far[0, :4] = 5.0 * np.abs(rows[0]).max(axis=0)
    assert active.grades(np.array([0]), far, blocks)[0] > 2.0
    assert np.isinf(active.grades(np.array([2]), far, blocks)[0])      # unknown element
    per_structure = structure_grades(np.array([0.2, 3.0, 0.5]), np.array([0, 0, 1]), 2)
    np.testing.assert_allclose(per_structure, [3.0, 0.5])


def test_repeated_columns_are_used_once():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(40, 3))
    rows = np.concatenate([base, np.ones((40, 1)), np.ones((40, 1))], axis=1)   # two bias columns
    active = ActiveSet.fit({0: rows}, tol=1e-3)
    assert list(active.columns[0]) == [0, 1, 2, 3]
    assert active.grades(np.zeros(40, dtype=int), rows).max() <= 1.0 + 1e-3 + 1e-9
