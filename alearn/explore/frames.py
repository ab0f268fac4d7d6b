"""Compact frame storage: one ``walker_NNN.npz`` per walker (positions and cells as float32)
plus what the monitor said about every stored frame.

Arrays in a walker file (F frames, n atoms): ``numbers (n,)``, ``pbc (3,)``, ``positions
(F, n, 3) float32``, ``cells (F, 3, 3) float32``, ``steps (F,)``, ``status (F,) int8`` (codes of
:class:`FrameStatus`), ``measure (F,)``, ``per_atom (F, n) float32`` (NaN where the measure has
no per-atom part), ``energy (F,)`` eV, ``contact_ratio (F,)`` and ``near_contact (F,)``.
float32 keeps 1e-5 Å on coordinates up to ~100 Å — ample for picking structures, which the
reference then labels at exactly the stored (float32-rounded) positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from alearn.explore.monitor import Check, FrameStatus
from alearn.files import atomic_writer


@dataclass(frozen=True)
class Frame:
    """One stored frame with the monitor's verdict."""

    walker: int
    index: int                      # position in the walker's file
    step: int                       # MD step (sample number for displace/strain)
    atoms: Atoms
    status: FrameStatus
    measure: float
    per_atom: np.ndarray | None
    energy: float
    contact_ratio: float
    near_contact: bool


class FrameWriter:
    """Collects a walker's frames in memory and writes them once (atomically) at the end."""

    def __init__(self, numbers: np.ndarray, pbc: np.ndarray) -> None:
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.pbc = np.asarray(pbc, dtype=bool)
        self._rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self._rows)

    def codes(self) -> np.ndarray:
        """Status codes of the frames added so far."""
        return np.array([row[3] for row in self._rows], dtype=np.int64)

    def add(self, atoms: Atoms, step: int, energy: float, check: Check) -> None:
        per_atom = (np.full(len(self.numbers), np.nan, dtype=np.float32) if check.per_atom is None
                    else np.asarray(check.per_atom, dtype=np.float32))
        self._rows.append((atoms.positions.astype(np.float32), atoms.cell[:].astype(np.float32),
                           int(step), check.status.code, float(check.measure), per_atom,
                           float(energy), float(check.contact_ratio), bool(check.near_contact)))

    def write(self, path: Path) -> None:
        n = len(self.numbers)
        cols = list(zip(*self._rows)) if self._rows else [()] * 9
        arrays = {
            "numbers": self.numbers, "pbc": self.pbc,
            "positions": np.asarray(cols[0], dtype=np.float32).reshape(-1, n, 3),
            "cells": np.asarray(cols[1], dtype=np.float32).reshape(-1, 3, 3),
            "steps": np.asarray(cols[2], dtype=np.int64),
            "status": np.asarray(cols[3], dtype=np.int8),
            "measure": np.asarray(cols[4], dtype=np.float64),
            "per_atom": np.asarray(cols[5], dtype=np.float32).reshape(-1, n),
            "energy": np.asarray(cols[6], dtype=np.float64),
            "contact_ratio": np.asarray(cols[7], dtype=np.float32),
            "near_contact": np.asarray(cols[8], dtype=bool),
        }
        with atomic_writer(path) as handle:
            np.savez_compressed(handle, **arrays)


@dataclass(frozen=True)
class WalkerFrames:
    """The arrays of one walker file, loaded."""

    walker: int
    numbers: np.ndarray
    pbc: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    steps: np.ndarray
    status: np.ndarray
    measure: np.ndarray
    per_atom: np.ndarray
    energy: np.ndarray
    contact_ratio: np.ndarray
    near_contact: np.ndarray

    @classmethod
    def load(cls, path: Path, walker: int) -> "WalkerFrames":
        with np.load(path) as data:
            return cls(walker=walker, **{k: data[k] for k in data.files})

    def __len__(self) -> int:
        return len(self.steps)

    def atoms(self, k: int) -> Atoms:
        """Frame ``k`` as an Atoms object (float64 copy of the stored float32 values)."""
        return Atoms(numbers=self.numbers, positions=self.positions[k].astype(np.float64),
                     cell=self.cells[k].astype(np.float64), pbc=self.pbc)

    def frame(self, k: int) -> Frame:
        per_atom = self.per_atom[k].astype(np.float64)
        return Frame(self.walker, k, int(self.steps[k]), self.atoms(k),
                     FrameStatus.from_code(self.status[k]), float(self.measure[k]),
                     None if np.all(np.isnan(per_atom)) else per_atom, float(self.energy[k]),
                     float(self.contact_ratio[k]), bool(self.near_contact[k]))

    def frames(self) -> Iterator[Frame]:
        for k in range(len(self)):
            yield self.frame(k)
