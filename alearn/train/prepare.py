"""From labelled structures to training tensors: topologies, cached descriptors, normalisation
statistics, per-element reference energies and per-fragment-type energy offsets.

Rows whose provenance ``subset`` starts with ``frag:`` (fragments cut from a large system,
:mod:`alearn.select.fragments`) belong to a fragment type with its own constant energy offset;
``Prepared.offset_type`` is the index of that type (−1: no offset).  With ``complete_only`` the
force mask of a row is restricted to the atoms whose per-atom array ``alearn_complete`` is true.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from alearn.data.records import LabelledStructure
from alearn.descriptors.chebyshev import ChebyshevSpec, Topology, collate, topology
from alearn.descriptors.fused import descriptor_values
from alearn.errors import UserError
from alearn.data.fragments import COMPLETE_ARRAY as COMPLETE
from alearn.data.fragments import fragment_type


@dataclass(frozen=True)
class Prepared:
    """One training structure with everything the loss needs (tensors on the training device)."""

    structure: LabelledStructure
    topology: Topology
    features: torch.Tensor            # (N, F) raw descriptor, no grad
    species: torch.Tensor             # (N,)
    energy: float
    forces: torch.Tensor | None       # (N, 3)
    force_mask: torch.Tensor | None   # (N, 3) bool, components in the force term
    stress: torch.Tensor | None       # (3, 3) eV/Å³
    offset_type: int = -1             # index of the fragment type, −1: no energy offset
    by_element: tuple[torch.Tensor, ...] = ()   # rows of ``features`` of each element

    @property
    def n_atoms(self) -> int:
        return int(self.species.shape[0])


def prepare(structures: Sequence[LabelledStructure], spec: ChebyshevSpec, *, dtype: torch.dtype,
            device: str, force_fraction: float, rng: np.random.Generator,
            structure_fraction: float = 1.0, chunk: int = 64,
            types: Mapping[str, int] | None = None, complete_only: bool = False) -> list[Prepared]:
    """Topologies and descriptors of every structure (descriptors computed in chunks).

    ``structure_fraction`` keeps the force labels of that fraction of the structures with
    forces (at least one); ``force_fraction`` the fraction of components within them.
    ``types`` maps fragment type keys to offset indices (see module docstring)."""
    topos = [topology(s.atoms, spec) for s in structures]
    feats: list[torch.Tensor] = []
    for start, stop in chunks([len(t.trip_a) + len(t.i) for t in topos], chunk):
        atoms = [s.atoms for s in structures[start:stop]]
        graph = collate(atoms, topos[start:stop], dtype=dtype, device=device)
        pos = torch.as_tensor(np.concatenate([a.positions for a in atoms]), dtype=dtype, device=device)
        g = descriptor_values(spec, graph, pos)
        feats.extend(torch.split(g, [len(a) for a in atoms]))
    out = [_one(s, t, g, dtype, device, force_fraction, rng, complete_only, len(spec.elements))
           for s, t, g in zip(structures, topos, feats)]
    types = types or {}
    out = [replace(p, offset_type=types.get(fragment_type(p.structure) or "", -1)) for p in out]
    with_forces = [k for k, p in enumerate(out) if p.forces is not None]
    if structure_fraction < 1.0 and with_forces:
        n_keep = max(1, int(round(structure_fraction * len(with_forces))))
        keep = set(rng.choice(with_forces, size=n_keep, replace=False).tolist())
        out = [p if k in keep or p.forces is None else replace(p, forces=None, force_mask=None)
               for k, p in enumerate(out)]
    return out


def chunks(sizes: Sequence[int], max_items: int, max_size: int = 400_000) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges with at most ``max_items`` items and about
    ``max_size`` pairs + triplets each (bounds the memory of the descriptor pass)."""
    out, start, total = [], 0, 0
    for k, size in enumerate(sizes):
        if k > start and (k - start >= max_items or total + size > max_size):
            out.append((start, k))
            start, total = k, 0
        total += size
    if start < len(sizes):
        out.append((start, len(sizes)))
    return out


def fragment_types(structures: Sequence[LabelledStructure]) -> dict[str, int]:
    """Fragment type key → offset index, in sorted key order."""
    keys = sorted({k for k in map(fragment_type, structures) if k is not None})
    return {k: i for i, k in enumerate(keys)}


def _one(s: LabelledStructure, topo: Topology, g: torch.Tensor, dtype: torch.dtype, device: str,
         force_fraction: float, rng: np.random.Generator, complete_only: bool,
         n_species: int) -> Prepared:
    tensor = lambda x: torch.tensor(np.array(x, float), dtype=dtype, device=device)  # noqa: E731
    forces = mask = stress = None
    if s.labels.forces is not None:
        forces = tensor(s.labels.forces).reshape(-1, 3)
        chosen = rng.random(forces.shape) < force_fraction
        if not chosen.any():
            chosen.flat[rng.integers(chosen.size)] = True
        if complete_only and COMPLETE in s.atoms.arrays:
            chosen &= np.asarray(s.atoms.arrays[COMPLETE], bool)[:, None]
        mask = torch.as_tensor(chosen, device=device)
    if s.labels.stress is not None and np.all(s.atoms.pbc):
        v = np.asarray(s.labels.stress, float)
        stress = tensor([[v[0], v[5], v[4]], [v[5], v[1], v[3]], [v[4], v[3], v[2]]])
    species = torch.as_tensor(topo.species, dtype=torch.long, device=device)
    by_element = tuple(g[species == t] for t in range(n_species))
    return Prepared(s, topo, g, species, float(s.labels.energy), forces, mask, stress,
                    by_element=by_element)


def normalisation(prepared: Sequence[Prepared], n_species: int) -> dict[str, torch.Tensor]:
    """Per-element shift (mean), scale (1/std, 0 for constant features), min and max."""
    g = torch.cat([p.features for p in prepared])
    s = torch.cat([p.species for p in prepared])
    n_f = g.shape[1]
    out = {k: g.new_zeros((n_species, n_f)) for k in ("shift", "scale", "feature_min", "feature_max")}
    for t in range(n_species):
        x = g[s == t]
        if x.shape[0] == 0:
            continue
        std = x.std(dim=0, unbiased=False)
        out["shift"][t] = x.mean(dim=0)
        out["scale"][t] = torch.where(std > 1e-10, 1.0 / std.clamp_min(1e-10), torch.zeros_like(std))
        out["feature_min"][t] = x.min(dim=0).values
        out["feature_max"][t] = x.max(dim=0).values
    return out


def composition(prepared: Sequence[Prepared], n_species: int) -> np.ndarray:
    counts = np.zeros((len(prepared), n_species))
    for row, p in enumerate(prepared):
        counts[row] = np.bincount(p.species.cpu().numpy(), minlength=n_species)
    return counts


def reference_energies(prepared: Sequence[Prepared], elements: Sequence[str],
                       given: Mapping[str, float], n_types: int = 0) -> tuple[np.ndarray, float]:
    """Per-element reference energies (given, or least squares over compositions, fitted
    together with one constant per fragment type) and the std of the remaining per-atom
    energies (the networks' output scale, at least 10 meV)."""
    counts = composition(prepared, len(elements))
    energies = np.array([p.energy for p in prepared])
    onehot = np.zeros((len(prepared), n_types))
    for row, p in enumerate(prepared):
        if p.offset_type >= 0:
            onehot[row, p.offset_type] = 1.0
    if given:
        missing = [e for e in elements if e not in given]
        if missing:
            raise UserError(f"[model].reference_energies lacks {missing}; give every element "
                            f"{list(elements)} or leave the table empty for a linear fit")
        ref = np.array([given[e] for e in elements], dtype=float)
        offsets = np.linalg.lstsq(onehot, energies - counts @ ref, rcond=None)[0] if n_types else np.zeros(0)
    else:
        fit = np.linalg.lstsq(np.hstack([counts, onehot]), energies, rcond=None)[0]
        ref, offsets = fit[:len(elements)], fit[len(elements):]
    residual = (energies - counts @ ref - onehot @ offsets) / counts.sum(axis=1)
    return ref, float(max(residual.std(), 0.01))
