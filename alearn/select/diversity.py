"""Diversity among candidates: a cheap invariant per-structure descriptor, farthest-point
sampling in its space, and time decorrelation of frames of one walker.

**Structure fingerprint.**  For every element pair (a ≤ b) of a fixed pair list, the distances
r < R_c of all a–b pairs are smeared onto a grid of ``bins`` Gaussians in the *inverse*
distance 1/r (from 1/R_c to 1/r_min, so short — energetically important — distances get more
resolution), weighted by the cosine cutoff f_c(r) and divided by the number of atoms.  It is
invariant to translation, rotation and permutation of like atoms, smooth in the positions, and
costs one neighbour list.  Distances between fingerprints are Euclidean.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from alearn.explore.sanity import pairs_within


def element_pairs(structures: Sequence[Atoms]) -> tuple[tuple[int, int], ...]:
    """All element pairs (a ≤ b) that occur in ``structures``, sorted."""
    elements = sorted({int(z) for atoms in structures for z in set(atoms.numbers)})
    return tuple((a, b) for k, a in enumerate(elements) for b in elements[k:])


def fingerprint(atoms: Atoms, pairs: Sequence[tuple[int, int]], cutoff_A: float,
                bins: int = 24, r_min_A: float = 0.5) -> np.ndarray:
    """The inverse-distance histogram of ``atoms`` (length ``len(pairs) · bins``)."""
    i, j, d = pairs_within(atoms, cutoff_A)
    grid = np.linspace(1.0 / cutoff_A, 1.0 / r_min_A, bins)
    width = grid[1] - grid[0]
    weight = 0.5 * (np.cos(np.pi * d / cutoff_A) + 1.0)
    smeared = weight[:, None] * np.exp(-0.5 * ((1.0 / d[:, None] - grid) / width) ** 2)
    zi, zj = atoms.numbers[i], atoms.numbers[j]
    lo, hi = np.minimum(zi, zj), np.maximum(zi, zj)
    out = np.zeros((len(pairs), bins))
    for k, (a, b) in enumerate(pairs):
        mask = (lo == a) & (hi == b)
        out[k] = smeared[mask].sum(axis=0)
    return out.reshape(-1) / max(len(atoms), 1)


def farthest_point_sampling(points: np.ndarray, k: int, first: int = 0) -> list[int]:
    """``k`` indices of ``points`` (rows), each the farthest from those already picked."""
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n == 0 or k <= 0:
        return []
    chosen = [first]
    distance = np.linalg.norm(points - points[first], axis=1)
    while len(chosen) < min(k, n):
        nxt = int(np.argmax(distance))
        if distance[nxt] <= 0.0:          # only duplicates left: take them in order
            nxt = next(m for m in range(n) if m not in chosen)
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(points - points[nxt], axis=1))
    return chosen


def decorrelate(steps: Sequence[int], priority: Sequence[float], min_gap: int) -> list[int]:
    """Indices kept so that any two kept steps are at least ``min_gap`` apart, preferring high
    ``priority`` (greedy, highest first)."""
    order = np.argsort(-np.asarray(priority, dtype=np.float64), kind="stable")
    kept: list[int] = []
    for idx in order:
        if all(abs(int(steps[idx]) - int(steps[m])) >= min_gap for m in kept):
            kept.append(int(idx))
    return sorted(kept)


def representatives(points: np.ndarray, priority: Sequence[float], k: int, seed: int = 0) -> list[int]:
    """``k`` indices: the points are split into ``k`` clusters (k-means++, Euclidean) and the
    highest-``priority`` point of each cluster is taken, clusters in order of that priority;
    empty clusters are made up by the highest-priority points left.

    Unlike farthest-point sampling, which favours the outskirts of the cloud (the most extreme
    structures), k-means centres follow the mass of the candidates.
    """
    from scipy.cluster.vq import kmeans2

    points = np.asarray(points, dtype=np.float64)
    priority = np.asarray(priority, dtype=np.float64)
    n = len(points)
    if n <= k:
        return [int(m) for m in np.argsort(-priority, kind="stable")]
    if k <= 0:
        return []
    _, labels = kmeans2(points, k, minit="++", seed=np.random.default_rng(seed))
    best = [max(np.flatnonzero(labels == c), key=lambda m: priority[m]) for c in np.unique(labels)]
    chosen = sorted((int(m) for m in best), key=lambda m: -priority[m])
    rest = [int(m) for m in np.argsort(-priority, kind="stable") if m not in chosen]
    return chosen + rest[:k - len(chosen)]
