"""MaxDet and LCMD batch selection."""

from __future__ import annotations

import numpy as np

from alearn.select.batch import lcmd, max_det


def conditional_variance(psi: np.ndarray, given: list[int], x: int, noise: float) -> float:
    """Posterior variance of x after noisy observations at ``given``, from the explicit kernel."""
    k = psi @ psi.T
    if not given:
        return float(k[x, x])
    kg = k[np.ix_(given, given)] + noise * np.eye(len(given))
    kx = k[x, given]
    return float(k[x, x] - kx @ np.linalg.solve(kg, kx))


def test_max_det_is_greedy_in_the_conditional_variance():
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(30, 5)) * [2, 1, 1, 0.5, 0.2]
    chosen = max_det(psi, 6, noise=0.1)
    assert len(set(chosen)) == 6
    for step, pick in enumerate(chosen):
        scores = [conditional_variance(psi, chosen[:step], x, 0.1) if x not in chosen[:step] else -1
                  for x in range(30)]
        assert scores[pick] >= max(scores) - 1e-9 * max(scores)


def test_max_det_skips_duplicates_of_what_it_took():
    psi = np.array([[3.0, 0.0], [3.0, 0.0], [2.9, 0.1], [0.0, 1.0]])
    assert max_det(psi, 2, noise=1e-3) == [0, 3]


def test_lcmd_takes_the_uncovered_cluster_first_and_never_repeats():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 0.1, size=(40, 2)) + [0.0, 0.0]
    b = rng.normal(0.0, 0.1, size=(20, 2)) + [5.0, 0.0]
    pool = np.concatenate([a, b])
    train = np.array([[0.0, 0.0]])
    chosen = lcmd(pool, train, 3)
    assert chosen[0] >= 40                      # the cluster far from every training point
    assert len(set(chosen)) == 3
    assert lcmd(pool, np.zeros((0, 2)), 2)[0] == int(np.argmax((pool ** 2).sum(1)))
    assert lcmd(pool, train, 0) == []
    assert len(lcmd(pool[:3], train, 10)) == 3
