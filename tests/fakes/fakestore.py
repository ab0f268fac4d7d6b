"""A minimal store with the API of ``alearn.data.store.Store`` used by the dispatcher
(``add`` → object with ``id`` or ``reason``; ``has_job``), backed by ASE's SQLite database so that
several processes can share it.  Keeps the label tests independent of the real store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Inserted:
    id: int
    existing: bool = False


@dataclass(frozen=True)
class Rejected:
    reason: str


class FakeStore:
    def __init__(self, path: str | Path, min_distance_A: float = 0.5) -> None:
        import ase.db

        self.db = ase.db.connect(str(path), type="db")
        self.min_distance_A = min_distance_A

    def __enter__(self) -> "FakeStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def has_job(self, job_hash: str) -> bool:
        return any(True for _ in self.db.select(job_hash=job_hash))

    def add(self, atoms: Any, labels: Any, provenance: Any) -> Inserted | Rejected:
        from ase.calculators.singlepoint import SinglePointCalculator

        for row in self.db.select(job_hash=provenance.job_hash):
            return Inserted(row.id, existing=True)
        if len(atoms) > 1:
            d = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
            if d[np.triu_indices(len(atoms), 1)].min() < self.min_distance_A:
                return Rejected("two atoms closer than the minimum distance")
        atoms = atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=labels.energy, forces=labels.forces,
                                           stress=labels.stress)
        row_id = self.db.write(atoms, job_hash=provenance.job_hash, source=provenance.source.value,
                               iteration=provenance.iteration)
        return Inserted(row_id)

    def count(self) -> int:
        return self.db.count()

    def job_hashes(self) -> list[str]:
        return [row.job_hash for row in self.db.select()]
