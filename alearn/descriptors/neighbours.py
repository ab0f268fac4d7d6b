"""Neighbour lists for the Chebyshev descriptor, computed by vesin (fastest of the candidates
benchmarked in ``benchmarks/ann_neighbours.py``; see docs/ann.md), with an optional Verlet skin.

A :class:`PairList` holds full (i→j and j→i) pairs with integer periodic shifts such that
``D_ij = R_j − R_i + S_ij · cell``.  :class:`VerletList` rebuilds a list at ``cutoff + skin``
only when an atom has moved more than ``skin / 2`` since the last build (or the cell, the
number of atoms or the periodicity changed), so MD steps reuse the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class PairList:
    """Full neighbour pairs of one structure within ``cutoff_A``."""

    i: np.ndarray          # (P,) int64 centre atoms, sorted
    j: np.ndarray          # (P,) int64 neighbours
    shifts: np.ndarray     # (P, 3) int64 cell shifts
    cutoff_A: float


def _box_and_pbc(atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = np.asarray(atoms.cell[:], dtype=np.float64)
    if pbc.any() and abs(np.linalg.det(cell)) < 1e-9:
        from alearn.errors import UserError

        raise UserError("a periodic structure has a degenerate cell (zero volume); set the cell "
                        "or make the structure non-periodic with atoms.pbc = False")
    return cell, pbc


def pair_list(atoms: Atoms, cutoff_A: float) -> PairList:
    """All pairs closer than ``cutoff_A`` (periodic images included), sorted by centre atom."""
    import vesin

    n = len(atoms)
    if n < 2 and not np.any(atoms.pbc):
        empty = np.zeros(0, dtype=np.int64)
        return PairList(empty, empty, np.zeros((0, 3), dtype=np.int64), cutoff_A)
    cell, pbc = _box_and_pbc(atoms)
    nl = vesin.NeighborList(cutoff=float(cutoff_A), full_list=True)
    i, j, s = nl.compute(np.asarray(atoms.positions, dtype=np.float64), cell,
                         [bool(p) for p in pbc], "ijS")
    order = np.lexsort((j, i))
    return PairList(i[order].astype(np.int64), j[order].astype(np.int64),
                    s[order].astype(np.int64), float(cutoff_A))


class VerletList:
    """A pair list at ``cutoff + skin`` reused until an atom moved more than ``skin / 2``."""

    def __init__(self, cutoff_A: float, skin_A: float = 1.0) -> None:
        self.cutoff_A = float(cutoff_A)
        self.skin_A = float(skin_A)
        self._pairs: PairList | None = None
        self._positions: np.ndarray | None = None
        self._cell: np.ndarray | None = None
        self._key: tuple | None = None
        self.builds = 0

    def get(self, atoms: Atoms) -> PairList:
        """The pair list valid for ``atoms`` (pairs beyond ``cutoff`` may be included)."""
        if self._stale(atoms):
            self._pairs = pair_list(atoms, self.cutoff_A + self.skin_A)
            self._positions = atoms.positions.copy()
            self._cell = np.array(atoms.cell[:])
            self._key = (len(atoms), tuple(atoms.pbc), tuple(atoms.numbers))
            self.builds += 1
        assert self._pairs is not None
        return self._pairs

    def _stale(self, atoms: Atoms) -> bool:
        if self._pairs is None or self._key != (len(atoms), tuple(atoms.pbc), tuple(atoms.numbers)):
            return True
        if not np.allclose(self._cell, atoms.cell[:], rtol=0, atol=1e-10):
            return True
        moved = np.linalg.norm(atoms.positions - self._positions, axis=1)
        return bool(moved.max(initial=0.0) > 0.5 * self.skin_A)
