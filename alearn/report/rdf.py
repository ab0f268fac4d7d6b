"""Radial distribution of a set of structures, and seed 001's data-sufficiency check.

Periodic structures give g(r) per element pair, g_ab(r) = V/(N_a N_b') · n_ab(r)/(4πr²dr)
(N_b' = N_b − 1 for like pairs), averaged over structures.  Non-periodic ones (clusters,
fragments) have no volume: they give the pair-distance density n_ab(r)/(N_pairs dr) instead.
The check splits the structures, in the order they were labelled, into halves and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Sequence

import numpy as np
from ase import Atoms

MIN_STRUCTURES = 4


@dataclass(frozen=True)
class RdfCheck:
    """g(r) (or pair-distance density) of two halves of a data set, per element pair."""

    r: np.ndarray
    first: dict[str, np.ndarray]
    second: dict[str, np.ndarray]
    difference: dict[str, float]     # ∫|g1−g2| dr / ∫(g1+g2)/2 dr
    periodic: bool
    structures: int

    @property
    def ylabel(self) -> str:
        return "g(r)" if self.periodic else "pair-distance density (1/Å)"

    @property
    def worst(self) -> tuple[str, float]:
        pair = max(self.difference, key=self.difference.get)
        return pair, self.difference[pair]


def _pairs(atoms: Atoms, rmax: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) of ordered pairs within ``rmax``, periodic images included."""
    from alearn.descriptors.neighbours import pair_list

    pairs = pair_list(atoms, rmax)
    vectors = (atoms.positions[pairs.j] - atoms.positions[pairs.i]
               + pairs.shifts @ np.asarray(atoms.cell[:]))
    return pairs.i, pairs.j, np.linalg.norm(vectors, axis=1)


def pair_names(elements: Sequence[str]) -> list[str]:
    return [f"{a}-{b}" for a, b in combinations_with_replacement(sorted(elements), 2)]


def rdf(structures: Sequence[Atoms], rmax: float = 6.0, nbins: int = 120) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
    """(bin centres, curve per pair, periodic) averaged over ``structures``."""
    edges = np.linspace(0.0, rmax, nbins + 1)
    centres, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
    periodic = all(bool(np.all(a.pbc)) for a in structures)
    elements = sorted({s for a in structures for s in a.get_chemical_symbols()})
    total = {name: np.zeros(nbins) for name in pair_names(elements)}
    weight = {name: 0 for name in total}
    for atoms in structures:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d = _pairs(atoms, rmax)
        for name in total:
            a, b = name.split("-")
            n_a, n_b = int(np.sum(symbols == a)), int(np.sum(symbols == b))
            partners = n_b - 1 if a == b else n_b
            if n_a == 0 or partners <= 0:
                continue
            mask = (symbols[i] == a) & (symbols[j] == b)
            counts = np.histogram(d[mask], bins=edges)[0].astype(float)
            if periodic:
                shell = 4.0 * np.pi * centres ** 2 * width
                total[name] += atoms.get_volume() / (n_a * partners) * counts / shell
            elif counts.sum() > 0:
                total[name] += counts / (counts.sum() * width)
            weight[name] += 1
    curves = {name: total[name] / weight[name] for name in total if weight[name]}
    return centres, curves, periodic


def relative_difference(first: np.ndarray, second: np.ndarray) -> float:
    """∫|g1−g2| / ∫(g1+g2)/2 on a common grid (0 when both vanish)."""
    scale = float(np.sum(0.5 * (first + second)))
    return float(np.sum(np.abs(first - second)) / scale) if scale > 0 else 0.0


def rdf_halves(structures: Sequence[Atoms], rmax: float = 6.0, nbins: int = 120) -> RdfCheck | None:
    """The halves check on ``structures`` in labelling order (None below 4 structures)."""
    if len(structures) < MIN_STRUCTURES:
        return None
    half = len(structures) // 2
    r, first, periodic = rdf(structures[:half], rmax, nbins)
    _, second, _ = rdf(structures[half:], rmax, nbins)
    common = [name for name in first if name in second]
    return RdfCheck(r, {n: first[n] for n in common}, {n: second[n] for n in common},
                    {n: relative_difference(first[n], second[n]) for n in common},
                    periodic, len(structures))
