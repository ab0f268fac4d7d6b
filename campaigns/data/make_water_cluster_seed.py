"""Make the shipped seed data of campaigns/water-cluster-xtb.toml.

A cyclic water hexamer (H2O)6 is relaxed with GFN2-xTB (tblite), written as the campaign's
initial geometry (campaigns/structures/water-hexamer.xyz), and labelled copies with Gaussian
displacements (energy and forces from GFN2-xTB) are written as the seed data set
(campaigns/data/water-cluster-seed.extxyz).  Deterministic (fixed seed); takes a few seconds:

    OMP_NUM_THREADS=1 python campaigns/data/make_water_cluster_seed.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.optimize import BFGS

HERE = Path(__file__).resolve().parent
SEED_FILE = HERE / "water-cluster-seed.extxyz"
GEOMETRY_FILE = HERE.parent / "structures" / "water-hexamer.xyz"
COPIES = 11          # rattled copies besides the relaxed cluster
RATTLE_STD_A = 0.04  # standard deviation of the displacements
SEED = 2026


def cyclic_hexamer(oo_A: float = 2.75, oh_A: float = 0.97) -> Atoms:
    """Six waters on a ring, each donating one hydrogen bond to the next, free H alternating
    above and below the ring plane (the starting guess of the relaxation)."""
    angles = 2 * np.pi * np.arange(6) / 6
    oxygens = oo_A * np.stack([np.cos(angles), np.sin(angles), np.zeros(6)], axis=1)
    symbols, positions = [], []
    for k in range(6):
        bond = oxygens[(k + 1) % 6] - oxygens[k]
        bond /= np.linalg.norm(bond)
        side = 0.5 * np.array([np.cos(angles[k]), np.sin(angles[k]), 0.0])
        side[2] = 0.85 if k % 2 else -0.85
        side -= side.dot(bond) * bond
        side /= np.linalg.norm(side)
        angle = np.radians(104.5)
        free = np.cos(angle) * bond + np.sin(angle) * side
        symbols += ["O", "H", "H"]
        positions += [oxygens[k], oxygens[k] + oh_A * bond, oxygens[k] + oh_A * free]
    return Atoms(symbols, positions=positions)


def gfn2() -> object:
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def labelled(atoms: Atoms) -> Atoms:
    """A copy with GFN2-xTB energy and forces attached as single-point results."""
    work = atoms.copy()
    work.calc = gfn2()
    energy, forces = work.get_potential_energy(), work.get_forces()
    result = atoms.copy()
    result.calc = SinglePointCalculator(result, energy=energy, forces=forces)
    result.info["calculator"] = "xtb"
    result.info["method"] = "GFN2-xTB"
    return result


def main() -> None:
    cluster = cyclic_hexamer()
    cluster.calc = gfn2()
    BFGS(cluster, logfile=None).run(fmax=0.02, steps=300)
    cluster.calc = None
    cluster.center()
    write(GEOMETRY_FILE, cluster, format="extxyz")
    rng = np.random.default_rng(SEED)
    frames = [labelled(cluster)]
    for _ in range(COPIES):
        copy = cluster.copy()
        copy.positions += rng.normal(0.0, RATTLE_STD_A, copy.positions.shape)
        frames.append(labelled(copy))
    write(SEED_FILE, frames, format="extxyz")
    energies = [f.get_potential_energy() for f in frames]
    print(f"wrote {GEOMETRY_FILE.name} and {len(frames)} labelled structures to {SEED_FILE.name}; "
          f"energies {min(energies):.3f} .. {max(energies):.3f} eV")


if __name__ == "__main__":
    main()
