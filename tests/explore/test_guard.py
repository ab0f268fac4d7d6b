"""The temperature guard keeps a walker under its ceiling and counts the rescalings."""

from __future__ import annotations

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet
from ase.md.velocitydistribution import thermalize_momenta

from alearn.explore.guard import TemperatureGuard


class Pumping(Calculator):
    """EMT plus a force along the velocities (an energy pump, like a poor surrogate's errors)."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        work = self.atoms.copy()
        work.calc = EMT()
        self.results = {"energy": work.get_potential_energy(),
                        "forces": work.get_forces() + 5.0 * self.atoms.get_velocities()}


def run(guard: bool, steps: int = 60) -> tuple[list[float], TemperatureGuard | None]:
    atoms = bulk("Cu", cubic=True).repeat(2)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    atoms.calc = Pumping()
    dyn = VelocityVerlet(atoms, 2 * units.fs)
    keeper = TemperatureGuard(atoms, 300.0, max_factor=1.5, ramp_steps=20) if guard else None
    if keeper is not None:
        dyn.attach(keeper, interval=1)
    temps: list[float] = []
    dyn.attach(lambda: temps.append(atoms.get_temperature()), interval=1)
    dyn.run(steps)
    return temps, keeper


def test_with_the_guard_the_ceiling_holds_against_the_pump():
    kept, guard = run(True)
    assert guard is not None and guard.rescales > 0
    assert max(kept[25:]) <= 1.5 * 300.0 * (1 + 1e-9)
    assert guard.ceiling_K() == 1.5 * 300.0


def test_ceiling_ramps_from_its_start_fraction():
    atoms = bulk("Cu")
    guard = TemperatureGuard(atoms, 1000.0, max_factor=2.0, ramp_steps=10, start_fraction=0.5)
    assert guard.ceiling_K() == 1000.0
    guard.steps = 5
    assert abs(guard.ceiling_K() - 1500.0) < 1e-9
