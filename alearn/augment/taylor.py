"""Taylor-expansion force augmentation (Cooper, Kästner, Urban, Artrith, npj Comput. Mater. 2020).

From a reference structure σ with energy E and forces F, a displaced copy σ + δ gets the
first-order energy E(σ + δ) ≈ E(σ) − Σ_i δ_i · F_i(σ).  Strategy A moves one atom by ±δ along
x, y or z (6 candidates per atom, ``multiple`` of them drawn without replacement); strategy B
moves every atom by a random vector with |δ_i| ≤ δmax (uniform in the ball) and removes the
mean displacement.  Derived structures carry no forces (energy-only rows) and
``Provenance(source=Source.TAYLOR, parent=<row id>)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from alearn.config.ann import TaylorConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source


def element_deltas(symbols: Sequence[str], cfg: TaylorConfig) -> np.ndarray:
    """δ (A) or δmax (B) of every atom, per-element values overriding ``delta_A``."""
    return np.array([cfg.delta_per_element_A.get(s, cfg.delta_A) for s in symbols], dtype=float)


def displacements_a(n_atoms: int, deltas: np.ndarray, multiple: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Strategy A: ``multiple`` single-atom moves ±δ along x, y, z, (a, N, 3)."""
    n_candidates = 6 * n_atoms
    picks = rng.choice(n_candidates, size=min(multiple, n_candidates), replace=False)
    out = np.zeros((len(picks), n_atoms, 3))
    for row, pick in enumerate(picks):
        atom, rest = divmod(int(pick), 6)
        axis, sign = divmod(rest, 2)
        out[row, atom, axis] = deltas[atom] * (1.0 if sign == 0 else -1.0)
    return out


def displacements_b(n_atoms: int, deltas: np.ndarray, multiple: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Strategy B: every atom uniformly inside a ball of radius δmax_i, mean removed, (a, N, 3)."""
    direction = rng.normal(size=(multiple, n_atoms, 3))
    direction /= np.linalg.norm(direction, axis=2, keepdims=True)
    radius = deltas[None, :] * rng.random((multiple, n_atoms)) ** (1.0 / 3.0)
    moves = direction * radius[..., None]
    return moves - moves.mean(axis=1, keepdims=True)


def taylor_copies(structure: LabelledStructure, moves: np.ndarray) -> list[LabelledStructure]:
    """``structure`` moved by each displacement of ``moves`` (a, N, 3), labelled to first order
    E(σ + δ) = E(σ) − Σ_i δ_i · F_i(σ) (the structure must have forces)."""
    if structure.labels.forces is None:
        raise ValueError("Taylor copies need a structure with forces")
    forces = np.asarray(structure.labels.forces, dtype=float)
    moves = np.asarray(moves, dtype=float).reshape((-1,) + forces.shape)
    energies = structure.labels.energy - np.einsum("aij,ij->a", moves, forces)
    provenance = Provenance(source=Source.TAYLOR, iteration=structure.provenance.iteration,
                            calculator=structure.provenance.calculator,
                            params_hash=structure.provenance.params_hash,
                            subset=structure.provenance.subset, parent=structure.id)
    out = []
    for move, energy in zip(moves, energies):
        moved = structure.atoms.copy()
        moved.calc = None
        moved.positions = structure.atoms.positions + move
        out.append(LabelledStructure(moved, Labels(energy=float(energy)), provenance))
    return out


def augment_one(structure: LabelledStructure, cfg: TaylorConfig,
                rng: np.random.Generator) -> list[LabelledStructure]:
    """The Taylor-labelled copies of one reference structure (none if it has no/small forces)."""
    forces = structure.labels.forces
    if forces is None:
        return []
    if np.linalg.norm(np.asarray(forces, dtype=float), axis=1).max(initial=0.0) < cfg.min_force_eV_A:
        return []
    atoms = structure.atoms
    deltas = element_deltas(atoms.get_chemical_symbols(), cfg)
    make = displacements_a if cfg.strategy == "A" else displacements_b
    return taylor_copies(structure, make(len(atoms), deltas, cfg.multiple, rng))


def taylor_augment(structures: Sequence[LabelledStructure], cfg: TaylorConfig,
                   rng: np.random.Generator) -> list[LabelledStructure]:
    """Taylor-labelled structures derived from every reference structure with forces."""
    out: list[LabelledStructure] = []
    for structure in structures:
        out.extend(augment_one(structure, cfg, rng))
    return out


def with_parent(structures: Sequence[LabelledStructure], parent: int) -> list[LabelledStructure]:
    """Copies whose provenance names ``parent`` (for rows stored after their parent got an id)."""
    return [replace(s, provenance=replace(s.provenance, parent=parent)) for s in structures]
