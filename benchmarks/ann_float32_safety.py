"""Is float32 safe for exploration MD?  Force agreement with float64 and NVE energy drift.

1. A committee (K = 4, 2×25 softplus, descriptor Rc 6.5/4.0 Å, orders 18/4) is trained with
   forces (α = 0.5) on EMT frames of 108-atom fcc copper (Langevin MD at 900 K with EMT).
2. Forces of float32 and float64 calculators (compiled kernel) on held-out EMT frames, and on
   the 192-atom water box with the random-weight model of ``ann_md_throughput.py``.
3. NVE (velocity Verlet, 1 fs) from a 600 K EMT frame, once in float64 and once in float32;
   the total energy along each trajectory is evaluated in float64 (so the drift measures the
   dynamics, not float32 rounding of the reported energy) and its drift (least-squares slope)
   and spread are reported per atom.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_float32_safety.py [--steps 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from ase import units
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

sys.path.insert(0, str(Path(__file__).parent))
from ann_md_throughput import make_committee  # noqa: E402
from ann_systems import copper_108, water_box  # noqa: E402


def emt_frames(n: int, temperature_K: float, seed: int) -> list:
    atoms = copper_108()
    atoms.calc = EMT()
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    dyn = Langevin(atoms, 2 * units.fs, temperature_K=temperature_K, friction=0.02, fixcm=False,
                   rng=np.random.default_rng(seed))
    frames = []
    for _ in range(n):
        dyn.run(15)
        frame = atoms.copy()
        frame.calc = None
        frame.info["energy"] = atoms.get_potential_energy()
        frame.arrays["forces"] = atoms.get_forces().copy()
        frames.append(frame)
    return frames


def train(frames, epochs: int):
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source
    from alearn.train.trainer import train_committee

    rows = [LabelledStructure(f, Labels(f.info["energy"], f.arrays["forces"]),
                              Provenance(Source.REFERENCE), id=k + 1) for k, f in enumerate(frames)]
    desc = DescriptorConfig(radial_cutoff_A=6.5, angular_cutoff_A=4.0, radial_order=18, angular_order=4)
    cfg = TrainConfig(epochs=epochs, force_weight=0.5, batch_size=8, patience=0, learning_rate=3e-3)
    model, report = train_committee(rows, [], desc, CommitteeConfig(members=4, hidden=(25, 25)),
                                    cfg, seed=0)
    return model, report


def force_agreement(model, frames) -> dict:
    c64, c32 = model.as_calculator(dtype="float64"), model.as_calculator(dtype="float32")
    diff, scale = [], []
    for atoms in frames:
        f64, f32 = c64.get_forces(atoms), c32.get_forces(atoms)
        diff.append(f32 - f64)
        scale.append(f64)
    d, s = np.concatenate(diff), np.concatenate(scale)
    return {"max_abs_eV_A": float(np.abs(d).max()), "rms_eV_A": float(np.sqrt((d**2).mean())),
            "rms_force_eV_A": float(np.sqrt((s**2).mean())),
            "relative_rms": float(np.sqrt((d**2).mean() / (s**2).mean()))}


def nve(model, start, dtype: str, steps: int, every: int = 20) -> dict:
    atoms = start.copy()
    atoms.calc = model.as_calculator(dtype=dtype)
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(1))
    judge = model.as_calculator(dtype="float64")
    times, totals = [], []
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)

    def record() -> None:
        probe = atoms.copy()
        totals.append(judge.get_potential_energy(probe) + atoms.get_kinetic_energy())
        times.append(dyn.nsteps * 1.0e-3)   # ps

    dyn.attach(record, interval=every)
    dyn.run(steps)
    e = (np.array(totals) - totals[0]) / len(atoms)
    slope = float(np.polyfit(times, e, 1)[0])
    return {"dtype": dtype, "steps": steps, "drift_meV_atom_ps": 1e3 * slope,
            "spread_meV_atom": 1e3 * float(e.std()), "max_dev_meV_atom": 1e3 * float(np.abs(e).max()),
            "temperature_K_end": float(atoms.get_temperature())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("load average:", os.getloadavg(), flush=True)
    frames = emt_frames(args.frames + 10, 900.0, seed=0)
    model, report = train(frames[: args.frames], args.epochs)
    print(json.dumps({"trained": {"epochs": report.epochs, "seconds": report.seconds,
                                  "train_force_rmse": report.train_metrics.get("force_rmse_eV_A")}}),
          flush=True)
    print(json.dumps({"forces_cu_held_out": force_agreement(model, frames[args.frames:])}), flush=True)
    water = water_box()
    print(json.dumps({"forces_water_random_model": force_agreement(make_committee(water, 4), [water])}),
          flush=True)
    start = frames[-1]
    for dtype in ("float64", "float32"):
        print(json.dumps({"nve": nve(model, start, dtype, args.steps)}), flush=True)
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
