"""Test systems shared by the ANN benchmarks: a 192-atom water box and 108-atom fcc copper."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk, molecule


def water_box(n_side: int = 4, density_g_cm3: float = 1.0, seed: int = 0) -> Atoms:
    """n_side³ randomly oriented water molecules on a cubic grid at the given density."""
    rng = np.random.default_rng(seed)
    n = n_side**3
    mass_g = n * 18.015 / 6.02214076e23
    edge = (mass_g / density_g_cm3 * 1e24) ** (1 / 3)
    spacing = edge / n_side
    template = molecule("H2O")
    template.positions -= template.get_center_of_mass()
    atoms = Atoms(cell=[edge] * 3, pbc=True)
    for idx in np.ndindex(n_side, n_side, n_side):
        mol = template.copy()
        q = rng.normal(size=4)
        mol.rotate(float(rng.uniform(0, 360)), q[:3] / np.linalg.norm(q[:3]))
        mol.positions += (np.array(idx) + 0.5) * spacing
        atoms += mol
    return atoms


def copper_108() -> Atoms:
    """108-atom fcc copper (3×3×3 conventional cells)."""
    return bulk("Cu", "fcc", a=3.61, cubic=True).repeat((3, 3, 3))
