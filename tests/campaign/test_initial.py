"""Iteration-0 structure generators: rattled copies and MD with the reference."""

from __future__ import annotations

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT

from alearn.campaign.initial import rattled, reference_md
from alearn.config.loop import InitialConfig


def test_rattled_copies_keep_the_start_and_are_reproducible() -> None:
    start = bulk("Cu", "fcc", a=3.6, cubic=True)
    a = rattled([start], 4, 0.05, np.random.default_rng(1))
    b = rattled([start], 4, 0.05, np.random.default_rng(1))
    assert len(a) == 4 and np.allclose(a[0].positions, start.positions)
    assert all(np.allclose(x.positions, y.positions) for x, y in zip(a, b))
    assert 0.01 < np.std(a[1].positions - start.positions) < 0.1


def test_reference_md_labels_every_step_and_keeps_every_interval() -> None:
    calls = []

    def label(structures):
        atoms = structures[0].copy()
        atoms.calc = EMT()
        calls.append(atoms.positions.copy())
        return [(atoms.get_potential_energy(), atoms.get_forces(), len(calls))]

    cfg = InitialConfig(source="md", md_steps=20, md_interval=5, md_temperature_K=300.0)
    run = reference_md(bulk("Cu", "fcc", a=3.6, cubic=True), cfg, label, np.random.default_rng(0))
    assert len(run.kept) == 5             # steps 0, 5, 10, 15, 20
    assert len(calls) == run.calculations == 21   # one reference calculation per MD step
    assert list(run.kept) == sorted(set(run.kept))
