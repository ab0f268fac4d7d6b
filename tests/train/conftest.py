"""Small labelled data sets for training tests: LJ dimer, EMT copper."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones

from alearn.data.records import Labels, LabelledStructure, Provenance, Source

torch.set_num_threads(1)


def labelled(atoms: Atoms, calc, stress: bool = False, row_id=None) -> LabelledStructure:
    atoms = atoms.copy()
    atoms.calc = calc
    labels = Labels(energy=float(atoms.get_potential_energy()), forces=atoms.get_forces().copy(),
                    stress=atoms.get_stress().copy() if stress else None)
    atoms.calc = None
    return LabelledStructure(atoms, labels, Provenance(Source.REFERENCE), id=row_id)


def lj_dimer(distances) -> list[LabelledStructure]:
    calc = LennardJones(epsilon=1.0, sigma=1.0, rc=3.0, smooth=False)
    return [labelled(Atoms("H2", positions=[[-d / 2, 0, 0], [d / 2, 0, 0]]), calc) for d in distances]


def emt_copper(n: int, seed: int = 0, rattle: float = 0.08) -> list[LabelledStructure]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6 * (1 + 0.02 * rng.uniform(-1, 1)), cubic=True)
        atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
        out.append(labelled(atoms, EMT(), stress=True, row_id=k + 1))
    return out


@pytest.fixture
def lj_data():
    return lj_dimer


@pytest.fixture
def cu_data():
    return emt_copper
