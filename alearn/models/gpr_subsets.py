"""Automatic partition of a dataset into homogeneous local subsets.

Structures are grouped by their atom sequence (same composition, atom count and atom order —
what a global fingerprint of fixed length needs).  A group whose observation count
(structures × (1 + 3·atoms) with forces) exceeds the memory budget is split by k-means
(SciPy, seeded) on its fingerprints into parts that each fit, none of fewer than a few
structures (:func:`split_by_budget`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms
from scipy.cluster.vq import kmeans2


@dataclass(frozen=True)
class Group:
    """Structures sharing an atom sequence: ``key`` (the numbers) and a readable ``formula``."""

    key: tuple[int, ...]
    formula: str
    indices: tuple[int, ...]


def group_structures(structures: Sequence[Atoms]) -> list[Group]:
    """Groups in order of first appearance; formulas made unique with a suffix when needed."""
    members: dict[tuple[int, ...], list[int]] = {}
    for i, atoms in enumerate(structures):
        members.setdefault(tuple(int(z) for z in atoms.numbers), []).append(i)
    groups, seen = [], {}
    for key, idx in members.items():
        formula = structures[idx[0]].get_chemical_formula(mode="hill")
        seen[formula] = seen.get(formula, 0) + 1
        name = formula if seen[formula] == 1 else f"{formula}~{seen[formula]}"
        groups.append(Group(key, name, tuple(idx)))
    return groups


def rows_per_structure(n_atoms: int, use_forces: bool) -> int:
    """Observations one structure contributes."""
    return 1 + (3 * n_atoms if use_forces else 0)


def min_subset(capacity: int) -> int:
    """The fewest structures a split-off subset may have: ML-II on one or two structures fits
    meaningless hyperparameters (one structure: the length scale runs to its bound and the
    subset predicts little more than its prior mean)."""
    return max(1, min(MIN_SUBSET_STRUCTURES, capacity // 2))


#: structures a subset made by splitting should at least hold (fewer only when capacity is tiny)
MIN_SUBSET_STRUCTURES = 5


def split_by_budget(x: np.ndarray, per_structure: int, max_rows: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Index arrays (into ``x``) of clusters that each hold at most ``max_rows`` observations.

    k-means (``ceil(N / capacity)`` centroids) on the fingerprints, then every structure goes to
    the nearest centroid that still has room (the closest pairs first), so no part exceeds the
    capacity and none needs splitting again; a part left with fewer than :func:`min_subset`
    structures is dissolved into the nearest parts with room.  (Before 2026-12-04 oversized
    clusters were split recursively, which could leave a subset of a single structure.)
    """
    capacity = max(1, max_rows // per_structure)
    n = len(x)
    if n <= capacity:
        return [np.arange(n)]
    parts = math.ceil(n / capacity)
    centroids, labels = kmeans2(x, parts, minit="++", seed=rng)
    if len(np.unique(labels)) == 1:          # degenerate fingerprints: split in order instead
        return [np.arange(s, min(s + capacity, n)) for s in range(0, n, capacity)]
    dist = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)          # (N, parts)
    assign = _fill(dist, np.full(parts, capacity), np.full(n, -1))
    smallest = min_subset(capacity)
    for _ in range(parts):
        sizes = np.bincount(assign, minlength=parts)
        small = [c for c in np.argsort(sizes) if 0 < sizes[c] < smallest]
        if not small:
            break
        c = small[0]
        room = capacity - sizes
        room[c] = 0
        members = np.flatnonzero(assign == c)
        if room.sum() < len(members):
            break
        trial = assign.copy()
        trial[members] = -1
        assign = _fill(dist, room, trial, members)
    return [np.flatnonzero(assign == c) for c in range(parts) if np.any(assign == c)]


def _fill(dist: np.ndarray, room: np.ndarray, assign: np.ndarray,
          todo: np.ndarray | None = None) -> np.ndarray:
    """Assign the structures ``todo`` (default: all) to the nearest centroid with room, closest
    (structure, centroid) pairs first; ``room`` is the free capacity of every centroid."""
    room = room.copy()
    rows = np.arange(len(dist)) if todo is None else np.asarray(todo)
    sub = dist[rows]
    order = np.argsort(sub, axis=None, kind="stable")
    for flat in order:
        r, c = divmod(int(flat), sub.shape[1])
        i = rows[r]
        if assign[i] < 0 and room[c] > 0:
            assign[i] = c
            room[c] -= 1
    return assign
