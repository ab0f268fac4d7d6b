"""D-optimality: the MaxVol active set and the extrapolation grade (Podryabinkin & Shapeev 2017
for MTP; Lysogorskiy et al. 2023 for ACE).

Per element, the training atoms' feature rows X (n × d, n ≥ d) are reduced to the d rows A
whose square matrix has (locally) maximal |det| — the most linearly independent environments
(:func:`maxvol`).  A new row φ is written in that basis, c = φ A⁻¹; its grade is
γ = max_j |c_j|.  Every training row has γ ≤ 1 + tol (that is what maximal volume means), so
γ ≤ 1 is interpolation and γ > 1 extrapolation; the papers select above a lower grade of order
1–2 and stop MD above an upper one of order 5–10.  A structure's grade is the largest grade of
its atoms.  The features are typically gradient features
(:func:`alearn.select.gradient_features.gradient_features`, last layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from alearn.errors import UserError


def maxvol(rows: np.ndarray, tol: float = 1e-2, max_swaps: int = 1000) -> np.ndarray:
    """Indices of ``d`` rows of ``rows`` (n × d, n ≥ d) forming a dominant submatrix: every row
    has coefficients of magnitude ≤ 1 + ``tol`` in their basis (Goreinov et al.'s algorithm:
    start from pivoted QR, swap the row with the largest coefficient in until none exceeds)."""
    from scipy.linalg import qr

    x = np.asarray(rows, dtype=np.float64)
    n, d = x.shape
    if n < d:
        raise UserError(f"the D-optimal active set needs at least as many training atoms as "
                        f"features per element ({d}); got {n} atoms")
    _, _, piv = qr(x.T, pivoting=True, mode="economic")
    chosen = np.array(piv[:d])
    basis = x[chosen]
    if np.linalg.matrix_rank(basis) < d:
        raise UserError(f"the training atoms' features span only {np.linalg.matrix_rank(x)} of "
                        f"{d} dimensions: too few distinct environments for a D-optimal active set")
    coeff = np.linalg.solve(basis.T, x.T).T          # x = coeff @ basis
    for swap in range(max_swaps):
        i, j = np.unravel_index(np.argmax(np.abs(coeff)), coeff.shape)
        if abs(coeff[i, j]) <= 1.0 + tol:
            break
        column = coeff[:, j].copy()
        row = coeff[i].copy()
        row[j] -= 1.0
        coeff -= np.outer(column, row) / coeff[i, j]
        chosen[j] = i
        if swap % 50 == 49:                            # keep the rank-one updates exact
            coeff = np.linalg.solve(x[chosen].T, x.T).T
    return chosen


@dataclass(frozen=True)
class ActiveSet:
    """Per element: the MaxVol rows of the training atoms and the inverse of their matrix."""

    inverse: Mapping[int, np.ndarray]     # element index → A⁻¹ (d × d)
    rows: Mapping[int, np.ndarray]        # element index → indices into that element's rows
    columns: Mapping[int, np.ndarray]     # element index → the feature columns used

    @classmethod
    def fit(cls, atom_rows: Mapping[int, np.ndarray], tol: float = 1e-2) -> "ActiveSet":
        """From each element's training feature rows (n_t × d_t).  Columns that repeat an
        earlier column exactly (the output-bias feature of every committee member is the same
        constant) are used once."""
        inverse, chosen, columns = {}, {}, {}
        for t, rows in atom_rows.items():
            rows = np.asarray(rows, dtype=np.float64)
            _, first = np.unique(rows, axis=1, return_index=True)
            keep = np.sort(first)
            idx = maxvol(rows[:, keep], tol)
            inverse[t] = np.linalg.inv(rows[idx][:, keep])
            chosen[t], columns[t] = idx, keep
        return cls(inverse, chosen, columns)

    def grades(self, species: np.ndarray, atom_rows: np.ndarray,
               blocks: tuple[slice, ...] | None = None) -> np.ndarray:
        """(N,) extrapolation grade of each atom (``atom_rows`` (N, D); ``blocks``: the columns
        of each element, None when the rows already hold one element's block); ``inf`` for an
        element without an active set."""
        out = np.full(len(species), np.inf)
        for t, inv in self.inverse.items():
            idx = np.flatnonzero(species == t)
            if idx.size:
                rows = atom_rows[idx] if blocks is None else atom_rows[idx][:, blocks[t]]
                out[idx] = np.abs(rows[:, self.columns[t]] @ inv).max(axis=1)
        return out


def structure_grades(atom_grades: np.ndarray, structure: np.ndarray, n_structures: int) -> np.ndarray:
    """(B,) the largest atomic grade of each structure."""
    out = np.zeros(n_structures)
    np.maximum.at(out, structure, atom_grades)
    return out


__all__ = ["ActiveSet", "maxvol", "structure_grades"]
