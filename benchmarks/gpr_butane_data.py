"""Butane benchmark data for local GPR vs aenet-gpr (GFN2-xTB via tblite).

Writes into OUT (default /tmp/gpr_bench):
  butane_train.extxyz            N training structures rattled (Gaussian, std --rattle) around
                                 the GFN2-xTB minimum, with xTB energies and forces
  butane_copies_<delta>.extxyz   --copies displaced copies of every training structure
                                 (alearn's displacement rule: Gaussian std delta, net translation
                                 removed), with their true xTB energies and the parent index
Both codes label exactly these copies, so their label errors are comparable.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpr_butane_data.py --n 250 --copies 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.optimize import BFGS

from alearn.augment.gpr import displacements


def xtb():
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def labelled(atoms, calc):
    atoms = atoms.copy()
    atoms.calc = calc
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return atoms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=250)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--rattle", type=float, default=0.05, help="training rattle std (Å)")
    parser.add_argument("--deltas", type=float, nargs="+", default=[0.055, 0.01])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/gpr_bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    calc = xtb()
    base = molecule("trans-butane")
    base.calc = calc
    BFGS(base, logfile=None).run(fmax=1e-3)
    train = []
    for _ in range(args.n):
        moved = base.copy()
        moved.positions += rng.normal(0.0, args.rattle, size=moved.positions.shape)
        train.append(labelled(moved, calc))
    write(args.out / "butane_train.extxyz", train)
    for delta in args.deltas:
        copies = []
        for index, parent in enumerate(train):
            for move in displacements(parent.positions, delta, args.copies, rng, False):
                moved = parent.copy()
                moved.positions = parent.positions + move
                copy = labelled(moved, calc)
                copy.info["parent"] = index
                copies.append(copy)
        write(args.out / f"butane_copies_{delta:g}.extxyz", copies)
    print(f"wrote {len(train)} training structures and {args.copies} copies each at δ = "
          f"{args.deltas} Å into {args.out}")


if __name__ == "__main__":
    main()
