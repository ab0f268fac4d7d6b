"""Iteration 0: the structures of the initial data set (rattled copies, reference MD, a file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from alearn.errors import UserError

#: ``label(structures) -> (energies, forces, row ids)`` for the reference MD
LabelFn = Callable[[Sequence[Atoms]], list[tuple[float, np.ndarray, int | None]]]


def initial_geometries(paths: Sequence[Path]) -> list[Atoms]:
    """Every frame of every ``[campaign] structures`` file."""
    from ase.io import read

    out: list[Atoms] = []
    for path in paths:
        try:
            out.extend(read(path, index=":"))
        except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
            raise UserError(f"cannot read initial structures from {path}: {exc}") from None
    for atoms in out:
        atoms.calc = None
    return out


def rattled(starts: Sequence[Atoms], copies: int, std_A: float, rng: np.random.Generator) -> list[Atoms]:
    """``copies`` Gaussian-displaced copies of each start (the first copy is the start itself)."""
    out = []
    for atoms in starts:
        for k in range(copies):
            copy = atoms.copy()
            if k:
                copy.positions += rng.normal(0.0, std_A, copy.positions.shape)
            out.append(copy)
    return out


class ReferenceMdCalculator(Calculator):
    """An ASE calculator whose every evaluation is a (durable) reference calculation."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, label: LabelFn) -> None:
        super().__init__()
        self.label_fn = label
        self.row_ids: list[int | None] = []

    def calculate(self, atoms: Atoms | None = None, properties: Any = ("energy",),
                  system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        snapshot = self.atoms.copy()
        snapshot.positions = np.round(snapshot.positions, 8)
        energy, forces, row = self.label_fn([snapshot])[0]
        self.row_ids.append(row)
        self.results = {"energy": energy, "forces": forces}


@dataclass(frozen=True)
class ReferenceMd:
    """A reference MD run: the row ids kept (every ``md_interval``-th step, the start
    included) and how many reference calculations it took (one per step)."""

    kept: tuple[int, ...]
    calculations: int


def reference_md(start: Atoms, cfg: Any, label: LabelFn, rng: np.random.Generator) -> ReferenceMd:
    """Every ``md_interval``-th frame of a short Langevin MD with the reference."""
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms = start.copy()
    calc = ReferenceMdCalculator(label)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(atoms, temperature_K=cfg.md_temperature_K, rng=rng)
    dyn = Langevin(atoms, cfg.md_timestep_fs * units.fs, temperature_K=cfg.md_temperature_K,
                   friction=0.02, rng=rng)
    kept: list[int] = []

    def keep() -> None:
        if calc.row_ids and calc.row_ids[-1] is not None:
            kept.append(int(calc.row_ids[-1]))

    dyn.attach(keep, interval=cfg.md_interval)
    dyn.run(cfg.md_steps)
    return ReferenceMd(tuple(kept), len(calc.row_ids))
