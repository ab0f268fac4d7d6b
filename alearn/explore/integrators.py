"""ASE integrators for the stage methods, and Maxwell–Boltzmann initial velocities.

| method        | ASE class                                             |
|---------------|-------------------------------------------------------|
| langevin      | ``ase.md.langevin.Langevin``                          |
| bussi         | ``ase.md.bussi.Bussi`` (stochastic velocity rescaling) |
| nose_hoover   | ``ase.md.nose_hoover_chain.NoseHooverChainNVT``       |
| npt           | ``ase.md.nose_hoover_chain.IsotropicMTKNPT`` / ``MTKNPT`` (periodic cells only) |
| nve           | ``ase.md.verlet.VelocityVerlet``                      |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms, units
from ase.md.md import MolecularDynamics
from ase.md.velocitydistribution import Stationary, ZeroRotation

from alearn.errors import UserError

MD_METHODS = ("langevin", "bussi", "nose_hoover", "npt", "nve")


def initial_velocities(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    """Maxwell–Boltzmann momenta at ``temperature_K`` without net translation (or rotation for
    non-periodic structures)."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta   # ASE ≥ 3.29
    except ImportError:  # pragma: no cover - older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)
    Stationary(atoms)
    if not atoms.pbc.any() and len(atoms) > 2:
        ZeroRotation(atoms)


def make_dynamics(atoms: Atoms, stage: Any, timestep_fs: float,
                  rng: np.random.Generator) -> MolecularDynamics:
    """The integrator of ``stage.method`` on ``atoms`` (calculator attached, momenta set)."""
    dt = timestep_fs * units.fs
    method = stage.method
    if method == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=stage.temperature_K,
                        friction=stage.friction_per_fs / units.fs, rng=rng, fixcm=False)
    if method == "bussi":
        from ase.md.bussi import Bussi

        return Bussi(atoms, dt, temperature_K=stage.temperature_K,
                     taut=stage.thermostat_time_fs * units.fs, rng=rng)
    if method == "nose_hoover":
        from ase.md.nose_hoover_chain import NoseHooverChainNVT

        return NoseHooverChainNVT(atoms, dt, temperature_K=stage.temperature_K,
                                  tdamp=stage.thermostat_time_fs * units.fs)
    if method == "npt":
        return _npt(atoms, stage, dt)
    if method == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, dt)
    raise ValueError(f"{method!r} is not an MD method; expected one of {', '.join(MD_METHODS)}")


def _npt(atoms: Atoms, stage: Any, dt: float) -> MolecularDynamics:
    if not atoms.pbc.all():
        raise UserError("[explore] stage method 'npt' needs a periodic cell (pbc on all three "
                        "axes); use 'langevin', 'bussi' or 'nose_hoover' for clusters")
    from ase.md.nose_hoover_chain import IsotropicMTKNPT, MTKNPT

    cls = IsotropicMTKNPT if stage.barostat == "isotropic" else MTKNPT
    return cls(atoms, dt, temperature_K=stage.temperature_K,
               pressure_au=stage.pressure_GPa * units.GPa,
               tdamp=stage.thermostat_time_fs * units.fs, pdamp=stage.barostat_time_fs * units.fs)
