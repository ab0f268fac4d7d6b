"""The surrogate seam: what every surrogate (committee ANN, local GPR) predicts and how it is used.

A surrogate implements :class:`Surrogate`.  Its ASE calculator (``as_calculator()``) puts these
keys into ``results`` beside the usual ``energy``, ``forces``, ``stress``:

- ``energy_std``        float, eV: std of the total energy (committee members, or GP posterior)
- ``forces_std``        (n_atoms,), eV/Å: per-atom force deviation sqrt(<|F_i - <F_i>|²>)
                        (committee), or the GP's per-atom force std when forces are requested
- ``max_force_std``     float, eV/Å: max over atoms of ``forces_std`` (DP-GEN's model deviation)
- ``extrapolation``     (n_atoms,), int: descriptor components outside the training [min, max]
- ``extrapolation_distance`` (n_atoms,), float: largest excess beyond the range, in units of
                        the training range of that component (0 inside the range)
Keys a surrogate cannot provide are absent (never filled with placeholders).
Committee spreads are population standard deviations over the K members (numpy ``std``,
ddof=0); the committee calculator also provides ``stress_std`` (Voigt) and
``energies_members`` (K,).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator


@dataclass(frozen=True)
class Prediction:
    """Predictions for a batch of structures (per-structure arrays are lists, atoms vary)."""

    energy: np.ndarray                      # (n_structures,) eV
    forces: tuple[np.ndarray, ...]          # each (n_atoms, 3) eV/Å
    energy_std: np.ndarray                  # (n_structures,) eV
    forces_std: tuple[np.ndarray, ...] | None = None   # each (n_atoms,) eV/Å
    stress: np.ndarray | None = None        # (n_structures, 6) eV/Å³, ASE Voigt order
    stress_std: np.ndarray | None = None    # (n_structures, 6)


@runtime_checkable
class Surrogate(Protocol):
    """A trainable model of the potential-energy surface with an uncertainty."""

    def predict(self, structures: Sequence[Atoms]) -> Prediction:
        """Energies, forces (stress where defined) and their spreads."""

    def as_calculator(self) -> Calculator:
        """An ASE calculator whose ``results`` carry the keys in the module docstring."""

    def save(self, directory: Path) -> None:
        """Write the model (no pickles: safetensors / JSON) with a format version."""
