"""Radial distribution functions of sampled structures and their convergence.

Shimamura et al. (J. Chem. Phys. 151, 124303 (2019)) take the training data to be sufficient
when the radial distribution function g(r) of the sampled structures has converged.
:func:`rdf` averages g(r) (total, or partial for one element pair) over periodic structures,
counting every atom image within ``r_max_A`` (so r may exceed half the cell);
:func:`rdf_distance` is the relative L1 difference of two curves, and
:func:`halves_distance` compares the first and the second half of a data set.

Normalisation: an a–b pair shell [r, r + dr) holds N_a·N_b/V·4πr²dr pairs on average in an ideal
gas (N_a²/2V·4πr²dr unordered pairs when a = b), so g → 1 at large r and the integral of
ρ_b·g_ab(r)·4πr² over the first peak is the coordination number.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from alearn.errors import UserError


def _pair(pair: str | None) -> tuple[int, int] | None:
    if pair is None:
        return None
    parts = pair.split("-")
    if len(parts) != 2 or any(p not in atomic_numbers for p in parts):
        raise UserError(f"pair {pair!r} is not two element symbols joined by '-', e.g. 'Cu-Cu'")
    return atomic_numbers[parts[0]], atomic_numbers[parts[1]]


def rdf(structures: Sequence[Atoms], r_max_A: float, bins: int = 100,
        pair: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres (Å) and g(r) averaged over ``structures`` (all fully periodic)."""
    from alearn.explore.sanity import pairs_within

    if not structures:
        raise UserError("g(r) of no structures")
    edges = np.linspace(0.0, r_max_A, bins + 1)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    wanted = _pair(pair)
    counts, ideal = np.zeros(bins), 0.0
    for atoms in structures:
        if not np.all(atoms.pbc):
            raise UserError("g(r) needs fully periodic structures (a volume to normalise by)")
        i, j, d = pairs_within(atoms, r_max_A)
        volume = atoms.get_volume()
        if wanted is None:
            n_a = n_b = len(atoms)
            same = True
        else:
            zi, zj = atoms.numbers[i], atoms.numbers[j]
            keep = ((zi == wanted[0]) & (zj == wanted[1])) | ((zi == wanted[1]) & (zj == wanted[0]))
            d = d[keep]
            n_a = int(np.count_nonzero(atoms.numbers == wanted[0]))
            n_b = int(np.count_nonzero(atoms.numbers == wanted[1]))
            same = wanted[0] == wanted[1]
        counts += np.histogram(d, bins=edges)[0]
        ideal += n_a * n_b / volume * (0.5 if same else 1.0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    return centres, counts / (ideal * shell)


def rdf_distance(g: np.ndarray, reference: np.ndarray) -> float:
    """∫|g − g_ref| dr / ∫ g_ref dr on a common grid (0: identical)."""
    return float(np.abs(np.asarray(g) - np.asarray(reference)).sum() / np.asarray(reference).sum())


def halves_distance(structures: Sequence[Atoms], r_max_A: float, bins: int = 100,
                    pair: str | None = None) -> float:
    """:func:`rdf_distance` between the first and the second half of ``structures``."""
    half = len(structures) // 2
    if half < 1:
        raise UserError("comparing halves needs at least two structures")
    _, first = rdf(structures[:half], r_max_A, bins, pair)
    _, second = rdf(structures[half:], r_max_A, bins, pair)
    return rdf_distance(first, second)
