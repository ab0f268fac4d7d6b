"""Cost of GPR-driven MD: one step of the LocalGPR ASE calculator on butane (GFN2-xTB data).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpr_md.py --steps 50

Fits LocalGPR on butane_train.extxyz (from gpr_butane_data.py) with hyperparameters fixed to
typical fitted values (so only the factorisation is timed), then runs Velocity-Verlet MD at 300 K
on the calculator, with and without per-atom force std, and reports ms per step, the energy
drift, and the largest energy std met on the trajectory.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from ase import units
from ase.io import read
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

from alearn.config.gpr import GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.models.gpr import LocalGPR


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", default="/tmp/gpr_bench/butane_train.extxyz")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    images = read(args.train, index=":")
    rows = [LabelledStructure(a, Labels(a.get_potential_energy(), a.get_forces()),
                              Provenance(Source.REFERENCE)) for a in images]
    cfg = GprConfig(weight_eV=20.0, length_scale=1.66, energy_noise_eV=2.5e-3, force_noise_eV_A=1e-4)
    start = time.perf_counter()
    model = LocalGPR.fit(rows, cfg)
    out = {"subsets": len(model.subsets), "factorise_s": time.perf_counter() - start}
    for with_std in (False, True):
        atoms = images[0].copy()
        atoms.calc = model.as_calculator(with_forces_std=with_std)   # sticky subset (default)
        MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))  # noqa
        e0, stds = atoms.get_total_energy(), []
        dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
        dyn.attach(lambda: stds.append(atoms.calc.results["energy_std"]))
        start, cpu = time.perf_counter(), time.process_time()
        dyn.run(args.steps)
        out[f"forces_std={with_std}"] = {
            "ms_per_step": 1e3 * (time.perf_counter() - start) / args.steps,
            "cpu_ms_per_step": 1e3 * (time.process_time() - cpu) / args.steps,
            "energy_drift_eV": float(atoms.get_total_energy() - e0), "max_energy_std_eV": float(max(stds))}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
