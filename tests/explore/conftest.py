"""A fake surrogate for exploration tests: EMT energies and forces plus a deterministic,
position-dependent spread (honest about what it is: not a trained model).

``forces_std[i] = base + slope · |r_i − r_i^ref|`` — the further an atom strays from the
reference geometry, the less the "committee" agrees; ``energy_std`` is their root-sum-square
divided by 10; an atom "extrapolates" (one feature, distance = excess / 0.1 Å) once it moved more
than ``extrapolate_A``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

torch.set_num_threads(1)


class FakeSurrogate(Calculator):
    implemented_properties = ["energy", "forces", "stress", "energy_std", "forces_std",
                              "max_force_std", "extrapolation", "extrapolation_distance"]

    def __init__(self, reference: np.ndarray, base: float = 0.01, slope: float = 1.0,
                 extrapolate_A: float = 0.5, fail_beyond_A: float | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.fail_beyond_A = fail_beyond_A
        self.reference = np.asarray(reference, dtype=float)
        self.base, self.slope, self.extrapolate_A = base, slope, extrapolate_A
        self.emt = EMT()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        work = self.atoms.copy()
        work.calc = self.emt
        self.results["energy"] = work.get_potential_energy()
        self.results["forces"] = work.get_forces()
        if work.pbc.all():
            self.results["stress"] = work.get_stress()
        moved = np.linalg.norm(work.get_positions() - self.reference, axis=1)
        if self.fail_beyond_A is not None and moved.max() > self.fail_beyond_A:
            raise RuntimeError("fake surrogate: geometry outside its domain")
        std = self.base + self.slope * moved
        self.results["forces_std"] = std
        self.results["max_force_std"] = float(std.max())
        self.results["energy_std"] = float(np.sqrt(np.sum(std**2)) / 10.0)
        excess = np.clip(moved - self.extrapolate_A, 0.0, None)
        self.results["extrapolation"] = (excess > 0).astype(int)
        self.results["extrapolation_distance"] = excess / 0.1


def fake_factory(atoms: Atoms, **kwargs) -> functools.partial:
    """A picklable zero-argument factory of the fake surrogate around ``atoms``."""
    return functools.partial(FakeSurrogate, atoms.get_positions().copy(), **kwargs)


@pytest.fixture
def cluster() -> Atoms:
    atoms = Octahedron("Cu", 3)          # 19 atoms, non-periodic
    atoms.center(vacuum=5.0)
    return atoms


@pytest.fixture
def copper_bulk() -> Atoms:
    return bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))   # 32 atoms


@pytest.fixture
def make_factory():
    """``make_factory(atoms, **kwargs)`` → a picklable factory of the fake surrogate."""
    return fake_factory
