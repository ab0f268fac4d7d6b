"""Fragments of large (periodic) systems around uncertain atoms (Herbold & Behler 2023).

:func:`cut_fragment` cuts a non-periodic cluster around a centre atom of a (periodic) parent.
Atoms are addressed as *images*: a parent index plus an integer cell shift, so periodic images
are unwrapped (a radius beyond half the cell takes one atom several times) and membership
tests are exact.  Images near the centre are found by tiling only the lattice translations that
can reach it, so the cost follows the fragment, not the size of the parent.

**Covalent bonds.**  A bond is a pair closer than ``bond_factor`` times the sum of the ASE
covalent radii.  A *molecule* is a connected component of the bond graph (SciPy
``connected_components``), unwrapped along a breadth-first spanning tree so that every bond has
its real length; a component bonded to its own periodic image (framework, metal, covalent
solid) is an *infinite network*.

**The cut.**  With ``whole_molecules = true`` (default) every molecule with at least one atom
image within ``radius_A`` of the centre is taken in whole, so molecular liquids give whole
molecules (water: (H2O)n) and no cut bonds.  Network atoms within ``radius_A`` are cut
spherically, their cut bonds capped only with ``saturate = true`` (a metal or an ionic solid is
cut as a plain cluster).  With ``whole_molecules = false`` the cut is spherical everywhere.

**Saturation** (``saturate = true``).  Each cut bond X–Y of a heavy atom X (X inside, Y outside)
is capped with a hydrogen on the X→Y line at r_cov(X) + r_cov(H).  A hydrogen all of whose bonds
are cut is dropped (the method saturates heavy atoms, it does not cap hydrogens).  Where a cap
would land inside the centre's cutoff sphere, or a hydrogen to drop lies inside it, the outer
atom is taken into the fragment instead (and its own cut bonds treated further out), so the
centre atom's environment within ``cutoff_A`` is exactly that of the parent: its descriptor is
reproduced exactly.

**Completeness.**  ``Fragment.complete[i]`` is true exactly when every parent atom image within
``cutoff_A`` of atom i is in the fragment and no cap is within ``cutoff_A`` of it (caps are never
complete); the centre always is.  :func:`cut_fragment` also stores it on the fragment as the
bool per-atom array ``atoms.arrays["alearn_complete"]`` (:data:`alearn.data.fragments.COMPLETE_ARRAY`), the contract
with the store and the trainer (only complete atoms' forces are bulk-like environments).

**Energy offsets.**  Fragments of different stoichiometry (including caps) carry different
constant energy offsets relative to the bulk; forces do not.  Each fragment gets a type key
(:func:`fragment_type_key`, its Hill formula with a ``frag:`` prefix, e.g. ``frag:H16O8`` for
eight waters), stored as the store's ``subset``.  Training should give every fragment type its
own free energy offset (or train fragments on forces only), and evaluation compares energies
after removing the per-type mean residual — :func:`energy_offsets` computes those offsets,
:func:`remove_offsets` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.neighborlist import natural_cutoffs, neighbor_list
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from alearn.data.fragments import (COMPLETE_ARRAY, FRAGMENT_PREFIX, energy_offsets, fragment_type_key,
                                   remove_offsets)
from alearn.errors import UserError

__all__ = ["COMPLETE_ARRAY", "FRAGMENT_PREFIX", "Fragment", "cut_fragment", "energy_offsets",
           "fragment_type_key", "remove_offsets"]

_TOL_A = 1e-6
_H = 1
_SHIFT_OFFSET = 1 << 10          # image shifts are encoded in 11 bits per axis


@dataclass(frozen=True)
class Fragment:
    """A non-periodic cluster cut from a parent structure; the centre atom is index 0."""

    atoms: Atoms
    source: np.ndarray            # (n,) parent index of each atom, −1 for hydrogen caps
    complete: np.ndarray          # (n,) bool: all parent images within cutoff inside, no cap
    caps: int
    type_key: str

    @property
    def centre(self) -> int:
        return 0


@dataclass(frozen=True)
class _Pairs:
    """Directed parent pairs i→j (j's image at cell shift ``shift``), grouped by i."""

    j: np.ndarray
    shift: np.ndarray             # (m, 3) int
    start: np.ndarray             # (n,) first pair of each i
    count: np.ndarray             # (n,) number of pairs of each i

    @staticmethod
    def of(n_atoms: int, i: np.ndarray, j: np.ndarray, shift: np.ndarray) -> "_Pairs":
        order = np.argsort(i, kind="stable")
        count = np.bincount(i, minlength=n_atoms)
        return _Pairs(j[order], shift[order].astype(np.int64), np.cumsum(count) - count, count)

    def of_rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, pair) for every pair of every row's parent atom ``index[row]``."""
        counts = self.count[index]
        rows = np.repeat(np.arange(len(index)), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return rows, self.start[index][rows] + within


@dataclass(frozen=True)
class _Bonds:
    """The covalent bond graph of the parent and its molecules."""

    pairs: _Pairs
    label: np.ndarray             # (n,) connected component of each atom
    unwrap: np.ndarray            # (n, 3) int: shift placing each atom in its molecule's frame
    network: np.ndarray           # (n,) bool: atom of an infinite (self-image-bonded) network


def _key(index: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """An exact int64 key of each atom image (parent index, cell shift)."""
    s = np.asarray(shift, dtype=np.int64) + _SHIFT_OFFSET
    base = 2 * _SHIFT_OFFSET
    return ((np.asarray(index, dtype=np.int64) * base + s[:, 0]) * base + s[:, 1]) * base + s[:, 2]


def _positions(atoms: Atoms, index: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return atoms.positions[index] + shift @ np.asarray(atoms.cell)


def _images_within(atoms: Atoms, point: np.ndarray,
                   reach: float) -> tuple[np.ndarray, np.ndarray]:
    """(parent index, cell shift) of every atom image closer than ``reach`` to ``point``.

    Only the lattice translations whose cell can hold such an image are tiled, so the cost
    scales with the atoms near ``point``, not with a neighbour list of the whole parent."""
    pbc = atoms.pbc
    cell = atoms.cell.complete()
    inverse = np.linalg.inv(np.asarray(cell))
    wrap = np.where(pbc, np.floor(atoms.positions @ inverse), 0.0).astype(np.int64)
    wrapped = atoms.positions - wrap @ np.asarray(cell)
    centre_frac = point @ inverse
    extent = reach * np.linalg.norm(inverse, axis=0)      # reach in cell fractions, per axis
    lo = np.where(pbc, np.floor(centre_frac - extent) - 1, 0).astype(np.int64)
    hi = np.where(pbc, np.floor(centre_frac + extent) + 1, 0).astype(np.int64)
    grid = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)],
                                indexing="ij"), axis=-1).reshape(-1, 3)
    index_parts, shift_parts = [], []
    for translation in grid:
        near = np.linalg.norm(wrapped + translation @ np.asarray(cell) - point, axis=1) < reach
        index_parts.append(np.flatnonzero(near))
        shift_parts.append(translation - wrap[near])
    return np.concatenate(index_parts), np.vstack(shift_parts).astype(np.int64)


def _bond_graph(atoms: Atoms, bond_factor: float) -> _Bonds:
    """Covalent bonds, molecules (unwrapped) and infinite networks of ``atoms``."""
    n = len(atoms)
    i, j, s = neighbor_list("ijS", atoms, natural_cutoffs(atoms, mult=bond_factor),
                            self_interaction=False)
    pairs = _Pairs.of(n, i, j, s)
    _, label = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)),
                                    directed=False)
    unwrap = _unwrap(n, i, j, s.astype(np.int64), label)
    broken = np.any(unwrap[i] + s != unwrap[j], axis=1)
    network = np.isin(label, np.unique(label[i[broken]]))
    return _Bonds(pairs, label, unwrap, network)


def _unwrap(n: int, i: np.ndarray, j: np.ndarray, shift: np.ndarray,
            label: np.ndarray) -> np.ndarray:
    """Cell shift of each atom along a breadth-first spanning tree of its component."""
    _, roots = np.unique(label, return_index=True)
    virtual = n                                   # one extra node linked to every root
    rows = np.concatenate([i, np.full(len(roots), virtual)])
    cols = np.concatenate([j, roots])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    order, pred = breadth_first_order(graph, virtual, directed=False, return_predecessors=True)
    edge_keys = i.astype(np.int64) * n + j
    sorted_edges = np.argsort(edge_keys, kind="stable")
    sorted_keys = edge_keys[sorted_edges]
    unwrap = np.zeros((n, 3), dtype=np.int64)
    for atom in order[1:]:
        parent = pred[atom]
        if parent == virtual:
            continue
        edge = sorted_edges[np.searchsorted(sorted_keys, parent * n + atom)]
        unwrap[atom] = unwrap[parent] + shift[edge]
    return unwrap


def _whole_molecules(bonds: _Bonds, index: np.ndarray,
                     shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every molecule touched by an image taken in whole; network images kept as they are."""
    molecular = ~bonds.network[index]
    instances = np.column_stack([bonds.label[index], shift - bonds.unwrap[index]])[molecular]
    _, first = np.unique(instances, axis=0, return_index=True)
    by_label = np.argsort(bonds.label, kind="stable")
    starts = np.searchsorted(bonds.label[by_label], np.arange(bonds.label.max() + 2))
    parts_i, parts_s = [], []
    for label, *cell in instances[np.sort(first)]:
        members = by_label[starts[label]:starts[label + 1]]
        parts_i.append(members)
        parts_s.append(np.asarray(cell, dtype=np.int64) + bonds.unwrap[members])
    parts_i.append(index[~molecular])
    parts_s.append(shift[~molecular])
    return np.concatenate(parts_i), np.vstack(parts_s)


def _centre_first(index: np.ndarray, shift: np.ndarray,
                  centre: int) -> tuple[np.ndarray, np.ndarray]:
    row = int(np.flatnonzero((index == centre) & ~shift.any(axis=1))[0])
    order = np.concatenate([[row], np.delete(np.arange(len(index)), row)])
    return index[order], shift[order]


def cut_fragment(atoms: Atoms, centre: int, radius_A: float, cutoff_A: float, *,
                 saturate: bool = False, bond_factor: float = 1.2,
                 whole_molecules: bool = True) -> Fragment:
    """The fragment of ``atoms`` around atom ``centre`` (see module docstring)."""
    if radius_A < cutoff_A:
        raise UserError(f"fragment radius {radius_A} Å is smaller than the descriptor cutoff "
                        f"{cutoff_A} Å: the centre atom's environment would be incomplete; set "
                        "[select.fragments] radius_A ≥ cutoff_A")
    index, shift = _images_within(atoms, atoms.positions[centre], radius_A)
    bonds = _bond_graph(atoms, bond_factor) if (saturate or whole_molecules) else None
    if whole_molecules:
        index, shift = _whole_molecules(bonds, index, shift)
    index, shift = _centre_first(index, shift, centre)
    caps = np.zeros((0, 3))
    if saturate:
        index, shift, caps = _saturate(atoms, bonds, index, shift, cutoff_A)
    positions = np.vstack([_positions(atoms, index, shift), caps])
    fragment = Atoms(numbers=np.concatenate([atoms.numbers[index], np.full(len(caps), _H)]),
                     positions=positions, pbc=False)
    complete = _complete(atoms, index, shift, positions, len(caps), cutoff_A)
    fragment.arrays[COMPLETE_ARRAY] = complete
    source = np.concatenate([index, np.full(len(caps), -1)])
    return Fragment(fragment, source, complete, len(caps), fragment_type_key(fragment))


def _saturate(atoms: Atoms, bonds: _Bonds, index: np.ndarray, shift: np.ndarray,
              cutoff_A: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Caps on heavy atoms' cut bonds, orphaned hydrogens dropped (see module docstring)."""
    origin = atoms.positions[index[0]]
    for _ in range(100):
        rows, pairs = bonds.pairs.of_rows(index)
        outer_i = bonds.pairs.j[pairs]
        outer_s = shift[rows] + bonds.pairs.shift[pairs]
        cut = ~np.isin(_key(outer_i, outer_s), _key(index, shift))
        rows, outer_i, outer_s = rows[cut], outer_i[cut], outer_s[cut]
        inner = _positions(atoms, index[rows], shift[rows])
        heavy = atoms.numbers[index[rows]] != _H
        caps = inner + _cap_offset(atoms, index[rows], inner,
                                   _positions(atoms, outer_i, outer_s))
        cap_inside = heavy & (np.linalg.norm(caps - origin, axis=1) < cutoff_A + _TOL_A)
        orphan = _orphans(atoms, bonds, index, rows)
        near = np.linalg.norm(_positions(atoms, index, shift) - origin, axis=1) < cutoff_A + _TOL_A
        grow = cap_inside | (~heavy & orphan[rows] & near[rows])
        if not grow.any():
            keep = ~(orphan & ~near)
            return index[keep], shift[keep], caps[heavy]
        _, first = np.unique(_key(outer_i[grow], outer_s[grow]), return_index=True)
        index = np.concatenate([index, outer_i[grow][first]])
        shift = np.vstack([shift, outer_s[grow][first]])
    raise UserError("fragment saturation did not converge: the bonded network keeps growing "
                    "into the cutoff sphere; use a larger radius_A or saturate = false")


def _cap_offset(atoms: Atoms, inner_index: np.ndarray, inner: np.ndarray,
                outer: np.ndarray) -> np.ndarray:
    direction = outer - inner
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    length = covalent_radii[atoms.numbers[inner_index]] + covalent_radii[_H]
    return direction * length[:, None]


def _orphans(atoms: Atoms, bonds: _Bonds, index: np.ndarray, cut_rows: np.ndarray) -> np.ndarray:
    """Hydrogen rows all of whose bonds are cut."""
    n_cut = np.bincount(cut_rows, minlength=len(index))
    n_bonds = bonds.pairs.count[index]
    return (atoms.numbers[index] == _H) & (n_bonds > 0) & (n_cut == n_bonds)


def _complete(atoms: Atoms, index: np.ndarray, shift: np.ndarray, positions: np.ndarray,
              n_caps: int, cutoff_A: float) -> np.ndarray:
    """Rows whose parent images within the cutoff are all in the fragment and see no cap."""
    origin = positions[0]
    reach = float(np.linalg.norm(positions - origin, axis=1).max()) + cutoff_A + 1.0
    env_index, env_shift = _images_within(atoms, origin, reach)
    env_pos = _positions(atoms, env_index, env_shift)
    rows_pos = positions[:len(index)]
    hits = cKDTree(env_pos).query_ball_point(rows_pos, cutoff_A)
    rows = np.repeat(np.arange(len(index)), [len(h) for h in hits])
    env = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    inside = np.linalg.norm(env_pos[env] - rows_pos[rows], axis=1) < cutoff_A
    rows, env = rows[inside], env[inside]
    missing = ~np.isin(_key(env_index[env], env_shift[env]), _key(index, shift))
    complete = np.concatenate([np.bincount(rows[missing], minlength=len(index)) == 0,
                               np.zeros(n_caps, dtype=bool)])
    if n_caps:
        caps = cKDTree(positions[len(index):])
        complete &= caps.query(positions, distance_upper_bound=cutoff_A)[0] >= cutoff_A
    if not complete[0]:
        raise RuntimeError("fragment cut left the centre atom's cutoff sphere incomplete")
    return complete
