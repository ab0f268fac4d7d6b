"""Chebyshev descriptor of atomic environments (Artrith, Urban, Ceder, PRB 96, 014112 (2017)).

Clean-room implementation of the formulas in SCIENCE.md §1, in torch so that forces
(−∂E/∂R) and stress ((1/V) ∂E/∂ε) follow by autograd, including second derivatives for
direct force training.  Many structures are evaluated in one graph: atoms are concatenated and
per-atom sums use ``index_add``.

Feature order per atom: [radial 0..N_rad, angular 0..N_ang, weighted radial, weighted angular];
the weighted ("type-spin") copies exist only for more than one element, and the angular set
only when the angular cutoff is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from ase import Atoms
from ase.data import atomic_numbers

from alearn.descriptors.neighbours import PairList, pair_list
from alearn.errors import UserError


def type_spins(n_elements: int) -> tuple[float, ...]:
    """Type spins: from trunc(−S/2) in steps of 1, skipping 0 when S is even."""
    start = math.trunc(-n_elements / 2)
    spins: list[float] = []
    value = start
    while len(spins) < n_elements:
        if not (value == 0 and n_elements % 2 == 0):
            spins.append(float(value))
        value += 1
    return tuple(spins)


@dataclass(frozen=True)
class ChebyshevSpec:
    """Descriptor parameters plus the element list (sorted by atomic number)."""

    elements: tuple[str, ...]
    radial_cutoff_A: float = 6.5
    angular_cutoff_A: float = 4.0
    radial_order: int = 18
    angular_order: int = 4

    def __post_init__(self) -> None:
        unknown = [e for e in self.elements if e not in atomic_numbers]
        if unknown or not self.elements:
            raise UserError(f"descriptor elements {list(self.elements)} are not valid element symbols")
        ordered = tuple(sorted(set(self.elements), key=atomic_numbers.__getitem__))
        object.__setattr__(self, "elements", ordered)

    @property
    def has_angular(self) -> bool:
        return self.angular_cutoff_A > 0.0

    @property
    def block(self) -> int:
        """Length of the unweighted set (radial + angular)."""
        return self.radial_order + 1 + (self.angular_order + 1 if self.has_angular else 0)

    @property
    def n_features(self) -> int:
        return self.block * (2 if len(self.elements) > 1 else 1)

    @property
    def max_cutoff_A(self) -> float:
        return max(self.radial_cutoff_A, self.angular_cutoff_A)

    def species_of(self, atoms: Atoms) -> np.ndarray:
        """Index of each atom's element in ``elements``; a UserError for unknown elements."""
        index = {z: k for k, z in enumerate(atomic_numbers[e] for e in self.elements)}
        missing = sorted({atomic_numbers_to_symbol(z) for z in atoms.numbers if z not in index})
        if missing:
            raise UserError(f"the model knows the elements {list(self.elements)} but the structure "
                            f"{atoms.get_chemical_formula()} contains {missing}; retrain with "
                            "these elements in the training data")
        return np.array([index[z] for z in atoms.numbers], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "chebyshev", "elements": list(self.elements),
                "radial_cutoff_A": self.radial_cutoff_A, "angular_cutoff_A": self.angular_cutoff_A,
                "radial_order": self.radial_order, "angular_order": self.angular_order}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChebyshevSpec":
        return cls(tuple(data["elements"]), float(data["radial_cutoff_A"]),
                   float(data["angular_cutoff_A"]), int(data["radial_order"]),
                   int(data["angular_order"]))


def atomic_numbers_to_symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


@dataclass(frozen=True)
class Topology:
    """Pairs and angular triplets of one structure (numpy, reusable while pairs stay valid)."""

    species: np.ndarray    # (N,) element index
    i: np.ndarray          # (P,) centre
    j: np.ndarray          # (P,) neighbour
    shifts: np.ndarray     # (P, 3) integer cell shifts
    trip_a: np.ndarray     # (T,) first pair of each angular triplet (index into pairs)
    trip_b: np.ndarray     # (T,) second pair (same centre, later neighbour)


def triplets(i: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of candidate pairs sharing the same centre ``i`` (i sorted)."""
    idx = np.flatnonzero(candidate)
    if idx.size == 0:
        return idx, idx
    centres = i[idx]
    starts = np.searchsorted(centres, centres, side="left")
    ends = np.searchsorted(centres, centres, side="right")
    local = np.arange(idx.size) - starts
    counts = ends - starts - 1 - local
    first = np.repeat(np.arange(idx.size), counts)
    offsets = np.cumsum(counts) - counts
    second = first + 1 + (np.arange(first.size) - np.repeat(offsets, counts))
    return idx[first], idx[second]


def topology(atoms: Atoms, spec: ChebyshevSpec, pairs: PairList | None = None,
             skin_A: float = 0.0) -> Topology:
    """Pairs within the radial cutoff (+skin) and triplets within the angular cutoff (+skin)."""
    species = spec.species_of(atoms)
    if pairs is None:
        pairs = pair_list(atoms, spec.max_cutoff_A + skin_A)
    vec = (atoms.positions[pairs.j] - atoms.positions[pairs.i]
           + pairs.shifts @ np.asarray(atoms.cell[:]))
    dist = np.linalg.norm(vec, axis=1)
    keep = dist < spec.radial_cutoff_A + skin_A
    if spec.has_angular:
        keep |= dist < spec.angular_cutoff_A + skin_A
    i, j, shifts, dist = pairs.i[keep], pairs.j[keep], pairs.shifts[keep], dist[keep]
    if spec.has_angular:
        a, b = triplets(i, dist < spec.angular_cutoff_A + skin_A)
    else:
        a = b = np.zeros(0, dtype=np.int64)
    return Topology(species, i, j, shifts, a.astype(np.int64), b.astype(np.int64))


@dataclass(frozen=True)
class Graph:
    """Several structures in one set of tensors (atoms concatenated)."""

    species: torch.Tensor     # (N,)
    batch: torch.Tensor       # (N,) structure of each atom
    cells: torch.Tensor       # (B, 3, 3)
    i: torch.Tensor           # (P,) global atom index
    j: torch.Tensor
    shifts: torch.Tensor      # (P, 3) float
    pair_batch: torch.Tensor  # (P,)
    trip_a: torch.Tensor      # (T,) global pair index
    trip_b: torch.Tensor
    n_atoms: torch.Tensor     # (B,)

    @property
    def n_structures(self) -> int:
        return int(self.cells.shape[0])


def collate(structures: Sequence[Atoms], topologies: Sequence[Topology],
            dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> Graph:
    """Concatenate structures and their topologies into one :class:`Graph`."""
    atom_offset, pair_offset = 0, 0
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                          ("species", "batch", "i", "j", "shifts", "pb", "a", "b")}
    for b, (atoms, topo) in enumerate(zip(structures, topologies)):
        n, p = len(atoms), len(topo.i)
        parts["species"].append(topo.species)
        parts["batch"].append(np.full(n, b, dtype=np.int64))
        parts["i"].append(topo.i + atom_offset)
        parts["j"].append(topo.j + atom_offset)
        parts["shifts"].append(topo.shifts)
        parts["pb"].append(np.full(p, b, dtype=np.int64))
        parts["a"].append(topo.trip_a + pair_offset)
        parts["b"].append(topo.trip_b + pair_offset)
        atom_offset, pair_offset = atom_offset + n, pair_offset + p
    cat = {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in parts.items()}
    long = lambda x: torch.as_tensor(x, dtype=torch.long, device=device)  # noqa: E731
    cells = np.stack([np.asarray(a.cell[:], dtype=np.float64) for a in structures])
    return Graph(
        species=long(cat["species"]), batch=long(cat["batch"]),
        cells=torch.as_tensor(cells, dtype=dtype, device=device),
        i=long(cat["i"]), j=long(cat["j"]),
        shifts=torch.as_tensor(cat["shifts"].reshape(-1, 3), dtype=dtype, device=device),
        pair_batch=long(cat["pb"]), trip_a=long(cat["a"]), trip_b=long(cat["b"]),
        n_atoms=long([len(a) for a in structures]))


def chebyshev(x: torch.Tensor, order: int) -> torch.Tensor:
    """T_0..T_order of x by the recursion, shape (len(x), order + 1)."""
    terms = [torch.ones_like(x)]
    if order >= 1:
        terms.append(x)
    for _ in range(2, order + 1):
        terms.append(2.0 * x * terms[-1] - terms[-2])
    return torch.stack(terms, dim=1)


def cutoff_function(r: torch.Tensor, cutoff_A: float) -> torch.Tensor:
    """f_c(r) = ½[cos(πr/Rc) + 1] inside the cutoff, 0 outside."""
    inside = (r < cutoff_A).to(r.dtype)
    return 0.5 * (torch.cos(r * (math.pi / cutoff_A)) + 1.0) * inside


def deform(graph: Graph, positions: torch.Tensor,
           strain: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions and cells under the symmetric strain ε (B, 3, 3): x → x (1 + ε)."""
    if strain is None:
        return positions, graph.cells
    eye = torch.eye(3, dtype=positions.dtype, device=positions.device)
    gradient = eye + 0.5 * (strain + strain.transpose(1, 2))
    moved = torch.bmm(positions.unsqueeze(1), gradient[graph.batch]).squeeze(1)
    return moved, torch.bmm(graph.cells, gradient)


def pair_vectors(graph: Graph, positions: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """D_ij = R_j − R_i + S_ij · cell for every pair, (P, 3)."""
    offsets = torch.bmm(graph.shifts.unsqueeze(1), cells[graph.pair_batch]).squeeze(1)
    return positions[graph.j] - positions[graph.i] + offsets


def features(spec: ChebyshevSpec, graph: Graph, positions: torch.Tensor,
             strain: torch.Tensor | None = None) -> torch.Tensor:
    """Descriptor of every atom, (N, spec.n_features), differentiable in positions and strain."""
    pos, cells = deform(graph, positions, strain)
    vec = pair_vectors(graph, pos, cells)
    r = torch.linalg.vector_norm(vec, dim=1)
    n_atoms = positions.shape[0]
    rc = spec.radial_cutoff_A
    radial = chebyshev(2.0 * r / rc - 1.0, spec.radial_order) * cutoff_function(r, rc)[:, None]
    angular = _angular_terms(spec, graph, vec, r) if spec.has_angular else None
    centre3 = graph.i[graph.trip_a]
    plain = _sum_blocks(n_atoms, graph.i, radial, centre3, angular)
    if len(spec.elements) == 1:
        return plain
    spins = torch.tensor(type_spins(len(spec.elements)), dtype=pos.dtype, device=pos.device)
    spin_j = spins[graph.species[graph.j]]
    w_angular = None
    if angular is not None:
        w_angular = angular * (spin_j[graph.trip_a] * spin_j[graph.trip_b])[:, None]
    weighted = _sum_blocks(n_atoms, graph.i, radial * spin_j[:, None], centre3, w_angular)
    return torch.cat([plain, weighted], dim=1)


def _sum_blocks(n_atoms: int, centre2: torch.Tensor, radial: torch.Tensor,
                centre3: torch.Tensor, angular: torch.Tensor | None) -> torch.Tensor:
    """Per-atom sums of pair terms (and triplet terms), concatenated radial then angular."""
    out = radial.new_zeros((n_atoms, radial.shape[1])).index_add(0, centre2, radial)
    if angular is None:
        return out
    ang = angular.new_zeros((n_atoms, angular.shape[1])).index_add(0, centre3, angular)
    return torch.cat([out, ang], dim=1)


def _angular_terms(spec: ChebyshevSpec, graph: Graph, vec: torch.Tensor,
                   r: torch.Tensor) -> torch.Tensor:
    """T_α(cos θ_ijk) f_c(r_ij) f_c(r_ik) for every triplet, (T, N_ang + 1)."""
    a, b = graph.trip_a, graph.trip_b
    fc = cutoff_function(r, spec.angular_cutoff_A)
    cos = (vec[a] * vec[b]).sum(dim=1) / (r[a] * r[b])
    cos = cos.clamp(-1.0, 1.0)
    return chebyshev(cos, spec.angular_order) * (fc[a] * fc[b])[:, None]
