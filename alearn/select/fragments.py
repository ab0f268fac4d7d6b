"""Fragments of large (periodic) systems around uncertain atoms (Herbold & Behler 2023).

:func:`cut_fragment` takes every atom image within ``radius_A`` of the centre atom (periodic
images unwrapped by their minimum-image — or further — shift vectors, so the fragment is a
non-periodic cluster even when the radius exceeds half the cell), and optionally caps each cut
covalent bond X–Y (X inside, Y outside; a bond is a pair closer than ``bond_factor`` times the
sum of covalent radii) with a hydrogen placed on the X→Y line at the typical X–H length
r_cov(X) + r_cov(H).  Where a cap would land inside the centre's cutoff sphere, the outer atom
Y is taken into the fragment instead (and its own cut bonds capped further out), so the centre
atom's environment within ``cutoff_A`` is exactly that of the parent structure: its
descriptor is reproduced exactly.  Hydrogen atoms whose bond is cut are not capped.

**Energy offsets.**  Fragments of different stoichiometry (including caps) carry different
constant energy offsets relative to the bulk; forces do not.  Each fragment gets a type key
(:func:`fragment_type_key`, its Hill formula with a ``frag:`` prefix), stored as the store's
``subset``.  Training should give every fragment type its own free energy offset (or train
fragments on forces only), and evaluation compares energies after removing the per-type mean
residual — :func:`energy_offsets` computes those offsets, :func:`remove_offsets` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.neighborlist import neighbor_list
from scipy.spatial import cKDTree

from alearn.errors import UserError

_TOL_A = 1e-6
_H = 1


@dataclass(frozen=True)
class Fragment:
    """A non-periodic cluster cut from a parent structure; the centre atom is index 0."""

    atoms: Atoms
    source: np.ndarray            # (n,) parent index of each atom, −1 for hydrogen caps
    complete: np.ndarray          # (n,) bool: full cutoff sphere inside, no cap within cutoff
    caps: int
    type_key: str

    @property
    def centre(self) -> int:
        return 0


def fragment_type_key(atoms: Atoms) -> str:
    """The fragment type (energy-offset class): ``frag:`` + Hill formula, e.g. ``frag:C6H8O2``."""
    return "frag:" + atoms.get_chemical_formula(mode="hill")


def _images(atoms: Atoms, centre: int, radius_A: float) -> tuple[np.ndarray, np.ndarray]:
    """Parent indices and unwrapped positions of all atom images within ``radius_A``."""
    i, j, vec = neighbor_list("ijD", atoms, radius_A, self_interaction=False)
    mask = i == centre
    origin = atoms.positions[centre]
    index = np.concatenate([[centre], j[mask]])
    positions = np.vstack([origin[None, :], origin + vec[mask]])
    return index, positions


def _bond_length(z1: int, z2: int, factor: float) -> float:
    return factor * float(covalent_radii[z1] + covalent_radii[z2])


class _Cutter:
    """Grows a fragment and finds its cut bonds."""

    def __init__(self, atoms: Atoms, centre: int, cutoff_A: float, bond_factor: float) -> None:
        self.atoms, self.cutoff_A, self.factor = atoms, cutoff_A, bond_factor
        self.origin = atoms.positions[centre]
        reach = 2.0 * float(covalent_radii[np.unique(atoms.numbers)].max()) * bond_factor
        bi, bj, bvec = neighbor_list("ijD", atoms, reach, self_interaction=False)
        self.bonds: dict[int, list[tuple[int, np.ndarray]]] = {}
        for a, b, v in zip(bi, bj, bvec):
            if np.linalg.norm(v) < _bond_length(atoms.numbers[a], atoms.numbers[b], bond_factor):
                self.bonds.setdefault(int(a), []).append((int(b), v))

    def cut_bonds(self, index: np.ndarray, positions: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """(inside row, outside parent index, outside position) of every cut bond."""
        tree = cKDTree(positions)
        cut = []
        for row, (parent, pos) in enumerate(zip(index, positions)):
            for other, vec in self.bonds.get(int(parent), []):
                target = pos + vec
                if tree.query(target)[0] > 1e-4:
                    cut.append((row, other, target))
        return cut

    def cap_position(self, row_pos: np.ndarray, z: int, outside: np.ndarray) -> np.ndarray:
        direction = (outside - row_pos) / np.linalg.norm(outside - row_pos)
        return row_pos + direction * float(covalent_radii[z] + covalent_radii[_H])


def cut_fragment(atoms: Atoms, centre: int, radius_A: float, cutoff_A: float, *,
                 saturate: bool = False, bond_factor: float = 1.2) -> Fragment:
    """The fragment of ``atoms`` around atom ``centre`` (see module docstring)."""
    if radius_A < cutoff_A:
        raise UserError(f"fragment radius {radius_A} Å is smaller than the descriptor cutoff "
                        f"{cutoff_A} Å: the centre atom's environment would be incomplete; set "
                        "[select.fragments] radius_A ≥ cutoff_A")
    index, positions = _images(atoms, centre, radius_A)
    caps: list[np.ndarray] = []
    if saturate:
        index, positions, caps = _saturate(atoms, centre, index, positions, cutoff_A, bond_factor)
    numbers = np.concatenate([atoms.numbers[index], np.full(len(caps), _H)])
    all_pos = np.vstack([positions] + ([np.array(caps)] if caps else []))
    fragment = Atoms(numbers=numbers, positions=all_pos, pbc=False)
    source = np.concatenate([index, np.full(len(caps), -1)])
    complete = _complete(all_pos, source, atoms.positions[centre], radius_A, cutoff_A)
    return Fragment(fragment, source, complete, len(caps), fragment_type_key(fragment))


def _saturate(atoms: Atoms, centre: int, index: np.ndarray, positions: np.ndarray,
              cutoff_A: float, bond_factor: float) -> tuple[np.ndarray, np.ndarray, list]:
    cutter = _Cutter(atoms, centre, cutoff_A, bond_factor)
    origin = atoms.positions[centre]
    for _ in range(100):
        caps, grow = [], []
        for row, other, outside in cutter.cut_bonds(index, positions):
            z = int(atoms.numbers[index[row]])
            if z == _H:
                continue
            cap = cutter.cap_position(positions[row], z, outside)
            if np.linalg.norm(cap - origin) < cutoff_A + _TOL_A:
                grow.append((other, outside))
            else:
                caps.append(cap)
        if not grow:
            return index, positions, caps
        new = {tuple(np.round(p, 6)): (o, p) for o, p in grow}
        index = np.concatenate([index, [o for o, _ in new.values()]])
        positions = np.vstack([positions, [p for _, p in new.values()]])
    raise UserError("fragment saturation did not converge: the bonded network keeps growing "
                    "into the cutoff sphere; use a larger radius_A or saturate = false")


def _complete(positions: np.ndarray, source: np.ndarray, origin: np.ndarray, radius_A: float,
              cutoff_A: float) -> np.ndarray:
    inside = np.linalg.norm(positions - origin, axis=1) + cutoff_A <= radius_A + _TOL_A
    caps = positions[source < 0]
    if len(caps):
        near_cap = cKDTree(caps).query(positions, distance_upper_bound=cutoff_A)[0] < cutoff_A
        inside &= ~near_cap
    inside[0] = True
    return inside


def energy_offsets(keys: Sequence[str], reference: Sequence[float],
                   predicted: Sequence[float]) -> dict[str, float]:
    """Mean residual (reference − predicted, eV) per fragment type key."""
    keys_arr = np.asarray(keys)
    diff = np.asarray(reference, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    return {str(k): float(diff[keys_arr == k].mean()) for k in np.unique(keys_arr)}


def remove_offsets(keys: Sequence[str], energies: Sequence[float],
                   offsets: Mapping[str, float]) -> np.ndarray:
    """``energies`` minus the offset of each structure's type (0 for types without one)."""
    return np.asarray(energies, dtype=np.float64) - np.array([offsets.get(k, 0.0) for k in keys])
