"""Helpers of the LAMMPS tests: small random committees saved as model directories, a fake
LAMMPS instance for the callback's bookkeeping, and structures in LAMMPS' box convention."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms


def _models_conftest() -> Any:
    path = Path(__file__).parents[1] / "models" / "conftest.py"
    spec = importlib.util.spec_from_file_location("alearn_models_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODELS = _models_conftest()


def save_committee(directory: Path, elements=("Cu", "Au"), seed: int = 0) -> Path:
    """A random committee (tests/models) saved as a model directory."""
    committee = MODELS.random_committee(elements=elements, members=3, seed=seed)
    committee.save(directory)
    return directory


def lammps_cell(seed: int = 0) -> Atoms:
    """Cu/Au in a restricted-triclinic (lower-triangular) cell, 16 atoms, some outside it."""
    atoms = MODELS.triclinic_cell(seed).repeat((2, 1, 1))
    atoms.positions[3] += atoms.cell[0]          # an atom one period outside the box
    return atoms


def water_cluster() -> Atoms:
    return MODELS.molecule_cluster()


class FakeNumpy:
    def __init__(self, owner: "FakeLammps") -> None:
        self.owner = owner

    def extract_atom(self, name: str) -> np.ndarray:
        if name == "type":
            return self.owner.types[self.owner.local]
        if name == "mass":
            return np.concatenate([[0.0], self.owner.masses])
        raise KeyError(name)


class FakeLammps:
    """What :func:`alearn.lammps.bridge.attach` and the callback ask of a LAMMPS instance.

    Atoms sit in a shuffled local order (LAMMPS sorts and migrates them); ``tags`` are 1-based
    IDs of the structure's atoms."""

    def __init__(self, atoms: Atoms, elements: tuple[str, ...], *, units: str = "metal",
                 ranks: int = 1, origin=(1.5, -2.0, 0.25), seed: int = 3) -> None:
        from ase.data import atomic_masses, atomic_numbers

        self.atoms, self.units, self.ranks = atoms, units, ranks
        self.origin = np.asarray(origin, dtype=float)
        self.types = np.array([elements.index(s) + 1 for s in atoms.get_chemical_symbols()])
        self.masses = np.array([atomic_masses[atomic_numbers[e]] for e in elements])
        self.local = np.random.default_rng(seed).permutation(len(atoms))
        self.commands: list[str] = []
        self.energy: float | None = None
        self.virial: list[float] | None = None
        self.vector: dict[int, float] = {}
        self.vector_length = 0
        self.callback: Any = None
        self.numpy = FakeNumpy(self)

    # what attach() asks
    def has_id(self, category: str, name: str) -> bool:
        return category == "fix" and name == "ml"

    def extract_global(self, name: str) -> Any:
        return {"units": self.units}[name]

    def extract_setting(self, name: str) -> int:
        return {"world_size": self.ranks, "ntypes": len(self.masses)}[name]

    def extract_box(self) -> tuple:
        cell = np.asarray(self.atoms.cell[:])
        hi = self.origin + np.diag(cell)
        return (list(self.origin), list(hi), cell[1, 0], cell[2, 1], cell[2, 0],
                [int(p) for p in self.atoms.pbc], 0)

    def fix_external_set_vector_length(self, fix_id: str, length: int) -> None:
        self.vector_length = length

    def set_fix_external_callback(self, fix_id: str, callback: Any, caller: Any = None) -> None:
        self.callback = callback

    def command(self, text: str) -> None:
        self.commands.append(text)

    # what the callback calls
    def fix_external_set_energy_global(self, fix_id: str, energy: float) -> None:
        self.energy = energy

    def fix_external_set_virial_global(self, fix_id: str, virial: list[float]) -> None:
        self.virial = list(virial)

    def fix_external_set_vector(self, fix_id: str, index: int, value: float) -> None:
        assert 1 <= index <= self.vector_length
        self.vector[index] = value

    def step(self, step: int = 0) -> np.ndarray:
        """Call the callback as fix external does; returns the forces in structure order."""
        tags = self.local + 1
        x = self.atoms.positions[self.local] + self.origin
        f = np.full((len(tags), 3), np.nan)
        self.callback(None, step, len(tags), tags, x, f)
        forces = np.empty_like(f)
        forces[self.local] = f
        return forces
