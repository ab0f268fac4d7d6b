"""Scripted exploration results for selection tests (frames written by the real FrameWriter)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
from ase import Atoms

from alearn.explore.frames import FrameWriter
from alearn.explore.monitor import Check, Counts, FrameStatus
from alearn.explore.run import ExplorationResult
from alearn.explore.walker import WalkerOutcome


def scripted_result(tmp_path: Path, walkers: Sequence[Sequence[tuple[int, float, Atoms]]],
                    lo: float = 0.1, hi: float = 1.0, insane: Sequence[tuple[int, int]] = ()) -> ExplorationResult:
    """An exploration result whose walker ``w`` stored frames ``(step, measure, atoms)``;
    per-atom uncertainty = measure on the last atom, measure/10 elsewhere."""
    outcomes = []
    for w, frames in enumerate(walkers):
        writer = FrameWriter(frames[0][2].numbers, frames[0][2].pbc)
        for k, (step, value, atoms) in enumerate(frames):
            status = (FrameStatus.INSANE if (w, k) in insane else FrameStatus.FAILED if value >= hi
                      else FrameStatus.CANDIDATE if value >= lo else FrameStatus.ACCURATE)
            per_atom = np.full(len(atoms), value / 10.0)
            per_atom[-1] = value
            writer.add(atoms, step, -1.0, Check(status, value, per_atom, (), None, np.inf))
        writer.write(tmp_path / f"walker_{w:03d}.npz")
        outcomes.append(WalkerOutcome(w, 0, f"walker_{w:03d}.npz", len(writer), 0, "completed",
                                      0, (), Counts.of(writer.codes())))
    result = ExplorationResult(1, tmp_path, tuple(outcomes), lo, hi)
    result.save_index()
    return result


def dimer(d: float) -> Atoms:
    """An H–H dimer at distance d plus a far spectator O (3 atoms, non-periodic)."""
    return Atoms("OH2", positions=[[0, 0, 0], [3.0, 0, 0], [3.0 + d, 0, 0]])


@pytest.fixture
def make_result():
    return scripted_result


@pytest.fixture
def make_dimer():
    return dimer
