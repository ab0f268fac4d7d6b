"""Fragment rows in the data: the vocabulary shared by selection (which cuts fragments), the
store, training and evaluation (which treat them).

A fragment cut from a large system (:func:`alearn.select.fragments.cut_fragment`) is stored
with the subset :func:`fragment_type_key` (``frag:`` + its Hill formula, e.g. ``frag:H16O8``):
fragments of one type share a constant energy offset to the bulk.  The bool per-atom array
``atoms.arrays[COMPLETE_ARRAY]`` marks the atoms whose cutoff sphere lies inside the fragment
(their forces are bulk-like).  :func:`energy_offsets` / :func:`remove_offsets` compute and apply
per-type mean residuals.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from ase import Atoms

#: per-atom bool array of a fragment row: the atom's environment within the cutoff is complete
COMPLETE_ARRAY = "alearn_complete"
#: prefix of a fragment type key (the store's ``subset`` of fragment rows)
FRAGMENT_PREFIX = "frag:"


def fragment_type_key(atoms: Atoms) -> str:
    """The fragment type (energy-offset class): ``frag:`` + Hill formula, e.g. ``frag:C6H8O2``."""
    return FRAGMENT_PREFIX + atoms.get_chemical_formula(mode="hill")


def fragment_type(structure: Any) -> str | None:
    """The fragment type key of a labelled row (its ``frag:`` subset), or ``None``."""
    subset = structure.provenance.subset
    return subset if subset is not None and subset.startswith(FRAGMENT_PREFIX) else None


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
