"""Batch selection in a feature space: informative and mutually diverse batches
(Holzmüller, Zaverkin, Kästner, Steinwart 2023; Zaverkin et al., Digital Discovery 2022).

Both selectors take features ψ in which the kernel is a plain dot product, k(x, x′) = ψ·ψ′ —
for gradient features after the training posterior transform
(:meth:`alearn.select.gradient_features.FeaturePosterior.transform`), so that |ψ(x)|² is the
posterior variance of x given the training set ("TP" in the papers).

- :func:`max_det` greedily takes the pool point of largest posterior variance and conditions
  the kernel on it (a rank-one update with observation noise ``noise``, in the units in which
  the training observations had noise 1), then repeats.  The batch maximises the determinant
  of its posterior covariance plus noise: informative and diverse at once.
- :func:`lcmd` (largest cluster, maximum distance): the centres are the training points and
  the points already chosen; every pool point belongs to its nearest centre (kernel distance);
  the next point is the one farthest from its centre within the cluster of the largest sum of
  squared distances.  It follows the mass of the pool instead of its outskirts.
"""

from __future__ import annotations

import numpy as np


def max_det(pool: np.ndarray, k: int, noise: float = 1.0) -> list[int]:
    """Indices of ``k`` pool rows (``pool`` (n, D): ψ features) chosen by greedy MaxDet."""
    psi = np.asarray(pool, dtype=np.float64)
    n = len(psi)
    variance = np.einsum("ij,ij->i", psi, psi)
    basis: list[np.ndarray] = []             # orthogonalised directions of the chosen points
    chosen: list[int] = []
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        scores = np.where(available, variance, -np.inf)
        best = int(np.argmax(scores))
        if not np.isfinite(scores[best]):
            break
        chosen.append(best)
        available[best] = False
        # posterior covariance after observing `best` with noise: k' = k − k(·,b) k(b,·)/(k(b,b)+ν)
        direction = _residual_direction(psi[best], basis, noise)
        basis.append(direction)
        variance = variance - (psi @ direction) ** 2
    return chosen


def _residual_direction(psi_b: np.ndarray, basis: list[np.ndarray], noise: float) -> np.ndarray:
    """The vector u with k'(x, x) = k(x, x) − Σ (ψ(x)·u_m)² after conditioning on one more point.

    With the covariance operator S (identity before any point, S ← S − S ψ ψᵀ S / (ν + ψᵀ S ψ)),
    u = S ψ_b / sqrt(ν + ψ_bᵀ S ψ_b), where S ψ_b = ψ_b − Σ_m u_m (u_m · ψ_b)."""
    s_psi = psi_b.copy()
    for u in basis:
        s_psi -= u * float(u @ psi_b)
    return s_psi / np.sqrt(noise + float(psi_b @ s_psi))


def lcmd(pool: np.ndarray, train: np.ndarray, k: int) -> list[int]:
    """Indices of ``k`` pool rows chosen by LCMD, with the ``train`` rows as initial centres
    (both ψ features; an empty ``train`` starts from the pool point of largest norm)."""
    psi = np.asarray(pool, dtype=np.float64)
    centres = np.asarray(train, dtype=np.float64).reshape(-1, psi.shape[1] if psi.size else 0)
    n = len(psi)
    if n == 0 or k <= 0:
        return []
    norms = np.einsum("ij,ij->i", psi, psi)
    chosen: list[int] = []
    if len(centres):
        distance, owner = _nearest(psi, norms, centres)
    else:
        first = int(np.argmax(norms))
        chosen.append(first)
        distance = np.maximum(norms + norms[first] - 2.0 * psi @ psi[first], 0.0)
        owner = np.zeros(n, dtype=np.int64)
    next_owner = int(owner.max(initial=-1)) + 1
    while len(chosen) < min(k, n):
        sizes = np.bincount(owner, weights=distance)
        cluster = int(np.argmax(sizes))
        members = np.flatnonzero(owner == cluster)
        best = int(members[np.argmax(distance[members])])
        if distance[best] <= 0.0:                    # only duplicates of centres left
            rest = [m for m in np.argsort(-norms, kind="stable") if m not in chosen]
            chosen.extend(int(m) for m in rest[:min(k, n) - len(chosen)])
            break
        chosen.append(best)
        new = np.maximum(norms + norms[best] - 2.0 * psi @ psi[best], 0.0)
        closer = new < distance
        distance = np.where(closer, new, distance)
        owner = np.where(closer, next_owner, owner)
        distance[best] = 0.0
        next_owner += 1
    return chosen


def _nearest(psi: np.ndarray, norms: np.ndarray, centres: np.ndarray,
             chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Squared kernel distance of each row to its nearest centre, and that centre's index."""
    c_norms = np.einsum("ij,ij->i", centres, centres)
    distance = np.empty(len(psi))
    owner = np.empty(len(psi), dtype=np.int64)
    for start in range(0, len(psi), chunk):
        block = psi[start:start + chunk]
        d2 = norms[start:start + chunk, None] + c_norms[None, :] - 2.0 * block @ centres.T
        owner[start:start + chunk] = np.argmin(d2, axis=1)
        distance[start:start + chunk] = np.maximum(d2.min(axis=1), 0.0)
    return distance, owner


__all__ = ["lcmd", "max_det"]
