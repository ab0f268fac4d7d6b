"""Close-contact correction set (Shimamura et al., J. Chem. Phys. 151, 124303 (2019)).

MD with a potential fitted to equilibrium data fails when two atoms approach more closely than
anything in the training data: the repulsive wall was never learned.  Rather than waiting for
walkers to explode, label a few structures with such contacts on purpose.

For each element pair (a, b) with shortest distance d_data in the data, the target is
``d_data − margin`` (minus a random fraction of another margin, for variety), but never below
the pair's sanity limit (``[explore.monitor]``: the distance at which walkers are stopped as
insane): labels closer than that teach a wall no walker is allowed to reach, and left
unbounded, each iteration would push the set ``margin`` deeper (a Cu13 benchmark reached
1.2 Å Cu–Cu pairs, 105 eV/Å forces, which dominated the force loss).  Pairs whose data already
reach their limit get no structure, and a structure in which compression or relaxation pushed
any pair below its limit is discarded.  Starting from a
structure where walkers (nearly) died, each structure is made by

1. a homogeneous compression (cell and positions; about the centroid for clusters) by at most
   ``max_compression`` of the lengths — the paper shrank the cell by 25 %;
2. *pinching* the closest a–b pair symmetrically along its bond to exactly the target;
3. an optional short relaxation of all other atoms on the surrogate with the pinched pair
   fixed (``ase.constraints.FixAtoms`` + FIRE), so the rest of the structure adapts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import chemical_symbols

from alearn.explore.sanity import PairLimits, pairs_within


PairKey = tuple[int, int]


@dataclass(frozen=True)
class ContactStructure:
    """A compressed structure with its targeted pair."""

    atoms: Atoms
    pair: str                      # e.g. "O-H"
    atoms_ij: tuple[int, int]
    target_A: float                # d_data − margin
    distance_A: float              # the pinched pair's distance (≤ target_A)
    compression: float             # length scale factor applied in step 1


def _closest_of_pair(atoms: Atoms, pair: PairKey, search_A: float) -> tuple[int, int, float] | None:
    i, j, d = pairs_within(atoms, search_A)
    zi, zj = atoms.numbers[i], atoms.numbers[j]
    mask = (np.minimum(zi, zj) == pair[0]) & (np.maximum(zi, zj) == pair[1])
    if not mask.any():
        return None
    k = np.flatnonzero(mask)[np.argmin(d[mask])]
    return int(i[k]), int(j[k]), float(d[k])


def _compress(atoms: Atoms, factor: float) -> Atoms:
    out = atoms.copy()
    if out.pbc.any():
        out.set_cell(out.cell[:] * factor, scale_atoms=True)
    else:
        centre = out.positions.mean(axis=0)
        out.positions = centre + (out.positions - centre) * factor
    return out


def _pinch(atoms: Atoms, i: int, j: int, distance_A: float) -> None:
    """Move atoms i and j symmetrically along their minimum-image bond to ``distance_A``."""
    vec = atoms.get_distance(i, j, mic=True, vector=True)
    current = np.linalg.norm(vec)
    shift = 0.5 * (current - distance_A) * vec / current
    positions = atoms.positions
    positions[i] += shift
    positions[j] -= shift
    atoms.positions = positions


def _relax(atoms: Atoms, fixed: tuple[int, int], calculator: Calculator, steps: int) -> None:
    from ase.constraints import FixAtoms
    from ase.optimize import FIRE

    atoms.set_constraint(FixAtoms(indices=list(fixed)))
    atoms.calc = calculator
    FIRE(atoms, logfile=None).run(fmax=0.05, steps=steps)
    atoms.set_constraint()
    atoms.calc = None


def contact_structure(seed: Atoms, pair: PairKey, target_A: float, *, max_compression: float,
                      rng: np.random.Generator, jitter_A: float = 0.0,
                      relax: Callable[[], Calculator] | None = None,
                      relax_steps: int = 0) -> ContactStructure | None:
    """One structure whose closest ``pair`` sits at ``target_A − U(0, jitter_A)``."""
    found = _closest_of_pair(seed, pair, 8.0)
    if found is None:
        return None
    factor = max(1.0 - max_compression, min(1.0, target_A / found[2]))
    atoms = _compress(seed, factor)
    i, j, _ = _closest_of_pair(atoms, pair, 8.0) or found
    goal = target_A - rng.uniform(0.0, jitter_A)
    _pinch(atoms, i, j, goal)
    if relax is not None and relax_steps > 0:
        _relax(atoms, (i, j), relax(), relax_steps)
    name = f"{chemical_symbols[pair[0]]}-{chemical_symbols[pair[1]]}"
    return ContactStructure(atoms, name, (i, j), target_A,
                            float(atoms.get_distance(i, j, mic=True)), factor)


def close_contact_set(seeds: Sequence[Atoms], data_min_A: Mapping[PairKey, float], *,
                      margin_A: float = 0.1, per_pair: int = 2, max_compression: float = 0.25,
                      rng: np.random.Generator, relax: Callable[[], Calculator] | None = None,
                      relax_steps: int = 0, limits: PairLimits | None = None) -> list[ContactStructure]:
    """Up to ``per_pair`` structures for every pair of ``data_min_A`` present in the seeds,
    none closer than ``limits`` (the walkers' sanity limits; ``None``: unbounded)."""
    out: list[ContactStructure] = []
    for pair, shortest in sorted(data_min_A.items()):
        floor = 0.0 if limits is None else limits.limit(*pair)
        target = max(shortest - margin_A, floor)
        usable = [s for s in seeds if _closest_of_pair(s, pair, 8.0) is not None]
        if target >= shortest - 1e-3 or not usable:
            continue
        for _ in range(per_pair):
            seed = usable[int(rng.integers(len(usable)))]
            made = contact_structure(seed, pair, target, max_compression=max_compression,
                                     rng=rng, jitter_A=min(margin_A, target - floor),
                                     relax=relax, relax_steps=relax_steps)
            if made is not None and (limits is None or _within_limits(made.atoms, limits)):
                out.append(made)
    return out


def _within_limits(atoms: Atoms, limits: PairLimits) -> bool:
    """No pair closer than its limit (a 1 mÅ tolerance for the pinched pair at its floor)."""
    i, j, d = pairs_within(atoms, limits.max_limit(atoms.numbers))
    table = limits.matrix(atoms.numbers)
    return bool(np.all(d >= table[atoms.numbers[i], atoms.numbers[j]] - 1e-3))


def close_contact_seeds(result, limit: int = 8) -> list[Atoms]:
    """Structures where walkers (nearly) died from close contacts: frames flagged as near
    contacts that have not exploded (closest pair at least half its limit, finite energy),
    most critical (smallest distance/limit ratio) first."""
    frames = [f for f in result.frames()
              if f.near_contact and f.contact_ratio >= 0.5 and np.isfinite(f.energy)]
    frames.sort(key=lambda f: f.contact_ratio)
    return [f.atoms for f in frames[:limit]]


def correction_set(result, training: Sequence[Atoms], cfg, rng: np.random.Generator, *,
                   relax: Callable[[], Calculator] | None = None,
                   limits: PairLimits | None = None) -> list[ContactStructure]:
    """The close-contact set of one iteration (``cfg``: ``[select.close_contacts]``): empty
    unless enabled and some walker (nearly) died from a close contact; ``limits``: the
    walkers' pair limits, the floor of every target."""
    if not cfg.enabled:
        return []
    seeds = close_contact_seeds(result)
    if not seeds:
        return []
    from alearn.explore.sanity import min_pair_distances

    return close_contact_set(seeds, min_pair_distances(list(training)), margin_A=cfg.margin_A,
                             per_pair=cfg.per_pair, max_compression=cfg.max_compression, rng=rng,
                             relax=relax, relax_steps=cfg.relax_steps, limits=limits)
