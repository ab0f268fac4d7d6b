"""Energy conservation of a potential: a short NVE run (velocity Verlet) and its linear drift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms, units


@dataclass(frozen=True)
class Drift:
    """Total energy per atom of an NVE run, relative to its start, and the fitted slope."""

    time_ps: np.ndarray
    energy_meV_atom: np.ndarray
    slope_meV_atom_ps: float
    temperature_K: float
    timestep_fs: float
    steps: int
    completed: bool          # False when the run stopped on non-finite energies
    peak_max_force_std_eV_A: float

    @property
    def conditions(self) -> str:
        done = "" if self.completed else " (stopped early: non-finite energy)"
        return (f"{len(self.time_ps) and self.time_ps[-1]:.3g} ps from {self.temperature_K:g} K, "
                f"time step {self.timestep_fs:g} fs{done}")

    def to_dict(self) -> dict[str, Any]:
        return {"time_ps": self.time_ps.tolist(), "energy_meV_atom": self.energy_meV_atom.tolist(),
                "slope_meV_atom_ps": self.slope_meV_atom_ps, "temperature_K": self.temperature_K,
                "timestep_fs": self.timestep_fs, "steps": self.steps, "completed": self.completed,
                "peak_max_force_std_eV_A": self.peak_max_force_std_eV_A}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Drift":
        return cls(np.asarray(data["time_ps"]), np.asarray(data["energy_meV_atom"]),
                   float(data["slope_meV_atom_ps"]), float(data["temperature_K"]),
                   float(data["timestep_fs"]), int(data["steps"]), bool(data["completed"]),
                   float(data["peak_max_force_std_eV_A"]))


def nve_drift(calculator: Any, atoms: Atoms, *, temperature_K: float, timestep_fs: float,
              steps: int, seed: int, every: int = 5) -> Drift:
    """Run ``steps`` of velocity Verlet from Maxwell–Boltzmann velocities at ``temperature_K``."""
    from ase.md.verlet import VelocityVerlet

    from alearn.explore.integrators import initial_velocities

    atoms = atoms.copy()
    atoms.calc = calculator
    initial_velocities(atoms, temperature_K, np.random.default_rng(seed))
    dynamics = VelocityVerlet(atoms, timestep_fs * units.fs)
    times, energies, peak = [], [], 0.0
    completed = True
    for step in range(0, steps + 1, every):
        if step:
            dynamics.run(every)
        total = atoms.get_potential_energy() + atoms.get_kinetic_energy()
        if not np.isfinite(total):
            completed = False
            break
        peak = max(peak, float(atoms.calc.results.get("max_force_std", 0.0)))
        times.append(step * timestep_fs / 1000.0)
        energies.append(total / len(atoms))
    time = np.asarray(times)
    energy = 1000.0 * (np.asarray(energies) - energies[0]) if energies else np.zeros(0)
    slope = float(np.polyfit(time, energy, 1)[0]) if len(time) > 2 else float("nan")
    return Drift(time, energy, slope, temperature_K, timestep_fs, steps, completed, peak)
