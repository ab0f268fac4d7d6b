"""Robust early exploration: keep a walker near its stage temperature while the surrogate is
still poor.

An early surrogate has spurious forces that pump energy into the walker: a 300 K stage runs
away to thousands of kelvin and explores nonsense (the monitor then rolls it back, again and
again).  :class:`TemperatureGuard` is an MD observer (``dyn.attach(guard, interval=1)``) that
rescales the velocities whenever the kinetic temperature exceeds a ceiling, so the thermostat's
target is what the walker samples, not what the surrogate's errors make of it.  The ceiling is
``max_factor`` × the stage temperature, ramped from ``start_fraction`` of it over the first
``ramp_steps`` steps (a gentle start from the initial structure).  Rescaling goes down to the
(ramped) stage temperature, the ceiling divided by ``max_factor``; the number of rescalings is counted, so a walker that needed many tells the
loop that its surrogate was still far off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms


@dataclass
class TemperatureGuard:
    """Velocity rescaling above a (ramped) temperature ceiling; see the module docstring."""

    atoms: Atoms
    temperature_K: float
    max_factor: float = 1.5
    ramp_steps: int = 0
    start_fraction: float = 0.2
    steps: int = field(default=0, init=False)
    rescales: int = field(default=0, init=False)

    def ceiling_K(self) -> float:
        """The temperature above which velocities are rescaled at the current step."""
        top = self.max_factor * self.temperature_K
        if self.ramp_steps <= 0 or self.steps >= self.ramp_steps:
            return top
        frac = self.start_fraction + (1.0 - self.start_fraction) * self.steps / self.ramp_steps
        return max(frac * top, 1e-6)

    def __call__(self) -> None:
        self.steps += 1
        ceiling = self.ceiling_K()
        current = float(self.atoms.get_temperature())
        if current > ceiling and np.isfinite(current):
            target = ceiling / self.max_factor
            self.atoms.set_momenta(self.atoms.get_momenta() * np.sqrt(target / current))
            self.rescales += 1


__all__ = ["TemperatureGuard"]
