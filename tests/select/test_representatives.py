"""k-means representatives: one pick per cluster of candidates, the most uncertain of each."""

from __future__ import annotations

import numpy as np

from alearn.select.diversity import representatives


def _blobs(centres: list[list[float]], n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    points = np.vstack([rng.normal(0.0, 0.05, (n, 2)) + c for c in centres])
    return points, rng.uniform(0.0, 1.0, len(points))


def test_each_pick_is_the_most_uncertain_of_its_cluster() -> None:
    points, priority = _blobs([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    picks = representatives(points, priority, 3)
    expected = {30 * b + int(np.argmax(priority[30 * b:30 * (b + 1)])) for b in range(3)}
    assert set(picks) == expected
    assert [priority[m] for m in picks] == sorted((priority[m] for m in picks), reverse=True)


def test_not_simply_the_most_uncertain() -> None:
    points, priority = _blobs([[0.0, 0.0], [1.0, 0.0]])
    priority[:30] += 1.0                                  # every top frame is in the first blob
    picks = representatives(points, priority, 2)
    assert sorted(m // 30 for m in picks) == [0, 1]
    assert representatives(points, priority, 2) == picks  # deterministic


def test_fewer_points_than_budget_are_all_taken_by_priority() -> None:
    assert representatives(np.eye(3), [0.1, 0.9, 0.5], 5) == [1, 2, 0]
