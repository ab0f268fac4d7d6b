"""Automatic partition of a dataset into homogeneous local subsets.

Structures are grouped by their atom sequence (same composition, atom count and atom order —
what a global fingerprint of fixed length needs).  A group whose observation count
(structures × (1 + 3·atoms) with forces) exceeds the memory budget is split by k-means
(SciPy, seeded) on its fingerprints, recursively until every part fits.
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


def split_by_budget(x: np.ndarray, per_structure: int, max_rows: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Index arrays (into ``x``) of clusters that each hold at most ``max_rows`` observations."""
    capacity = max(1, max_rows // per_structure)
    if len(x) <= capacity:
        return [np.arange(len(x))]
    parts = math.ceil(len(x) / capacity)
    _, labels = kmeans2(x, parts, minit="++", seed=rng)
    clusters = [np.flatnonzero(labels == c) for c in range(parts)]
    clusters = [c for c in clusters if len(c)]
    if len(clusters) == 1:          # degenerate fingerprints: split in order instead
        return [np.arange(s, min(s + capacity, len(x))) for s in range(0, len(x), capacity)]
    out = []
    for c in clusters:
        out += [c[sub] for sub in split_by_budget(x[c], per_structure, max_rows, rng)]
    return out
