"""Seed 000's water-cluster study with GFN2-xTB (tblite) as the reference.

(H2O)6 is sampled by Langevin MD at 300 K and 800 K inside a harmonic restraining sphere
(O atoms beyond 4.5 Å from the centre of mass are pushed back); frames are labelled by
GFN2-xTB alone.  One network per setting (same architecture, epochs and seed) is trained by
energy-only, energy-only + Taylor A, energy-only + Taylor B, and direct force training, and the
force MAE on the validation frames is reported with the fraction of the direct-training
improvement that Taylor reaches (the paper: ≈ 50 %).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_water_cluster.py --train 500 --valid 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from ase import Atoms, units
from ase.build import molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.mixing import SumCalculator
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

from alearn.augment.taylor import taylor_augment
from alearn.config.ann import CommitteeConfig, DescriptorConfig, TaylorConfig, TrainConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.train.metrics import evaluate_surrogate
from alearn.train.trainer import train_committee


class Sphere(Calculator):
    """Harmonic wall k/2 (r − R)² on oxygen atoms farther than R from the centre of mass."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, radius_A: float = 4.5, k_eV_A2: float = 2.0) -> None:
        super().__init__()
        self.radius_A, self.k = radius_A, k_eV_A2

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions - self.atoms.get_center_of_mass()
        r = np.linalg.norm(pos, axis=1)
        out = (r > self.radius_A) & (self.atoms.numbers == 8)
        excess = np.where(out, r - self.radius_A, 0.0)
        forces = -self.k * excess[:, None] * pos / np.maximum(r, 1e-12)[:, None]
        self.results = {"energy": 0.5 * self.k * float((excess**2).sum()), "forces": forces}


def hexamer(seed: int = 0) -> Atoms:
    rng = np.random.default_rng(seed)
    water = molecule("H2O")
    sites = 2.0 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    cluster = Atoms()
    for site in sites:
        mol = water.copy()
        axis = rng.normal(size=3)
        mol.rotate(float(rng.uniform(0, 360)), axis / np.linalg.norm(axis))
        mol.positions += site
        cluster += mol
    return cluster


def xtb():
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def sample(n_frames: int, temperature_K: float, seed: int, every: int = 10) -> list[Atoms]:
    atoms = hexamer(seed)
    atoms.calc = SumCalculator([xtb(), Sphere()])
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    dyn = Langevin(atoms, 0.5 * units.fs, temperature_K=temperature_K, friction=0.02,
                   rng=np.random.default_rng(seed))
    dyn.run(200)  # equilibrate
    frames = []
    for _ in range(n_frames):
        dyn.run(every)
        frames.append(atoms.copy())
    return frames


def label(frames: list[Atoms]) -> list[LabelledStructure]:
    calc, out = xtb(), []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = calc
        labels = Labels(energy=atoms.get_potential_energy(), forces=atoms.get_forces().copy())
        atoms.calc = None
        out.append(LabelledStructure(atoms, labels, Provenance(Source.REFERENCE), id=len(out) + 1))
    return out


def load_cache(path: str, n: int) -> list[LabelledStructure] | None:
    import os

    import ase.io

    if not path or not os.path.exists(path):
        return None
    frames = ase.io.read(path, index=":")
    if len(frames) != n:
        return None
    from alearn.train.data import as_labelled

    return [LabelledStructure(s.atoms, s.labels, s.provenance, id=k + 1)
            for k, s in enumerate(as_labelled(frames))]


def save_cache(path: str, data: list[LabelledStructure]) -> None:
    if not path:
        return
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = []
    for s in data:
        atoms = s.atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=s.labels.energy, forces=s.labels.forces)
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=int, default=500)
    p.add_argument("--valid", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--multiple", type=int, default=24)
    p.add_argument("--patience", type=int, default=100)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "lbfgs"])
    p.add_argument("--hidden", type=int, nargs="+", default=[20, 20])
    p.add_argument("--settings", nargs="+", default=["energy-only", "taylor-A", "taylor-B", "direct"])
    p.add_argument("--cache", default="", help="extxyz file to store/reuse the labelled frames")
    args = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    n_total = args.train + args.valid
    data = load_cache(args.cache, n_total)
    if data is None:
        frames = sample(n_total // 2, 300.0, 1) + sample(n_total - n_total // 2, 800.0, 2)
        data = label(frames)
        save_cache(args.cache, data)
    order = np.random.default_rng(0).permutation(len(data))
    train = [data[k] for k in order[:args.train]]
    valid = [data[k] for k in order[args.train:]]
    print(f"sampled and labelled {len(data)} frames in {time.perf_counter() - t0:.0f} s", flush=True)
    desc = DescriptorConfig(radial_cutoff_A=6.5, angular_cutoff_A=4.0, radial_order=18, angular_order=4)
    model = CommitteeConfig(members=1, hidden=tuple(args.hidden), activation="softplus")
    rng = np.random.default_rng(3)
    settings = {
        "energy-only": (train, 0.0),
        "taylor-A": (train + taylor_augment(train, TaylorConfig(strategy="A", multiple=args.multiple, delta_A=0.03), rng), 0.0),
        "taylor-B": (train + taylor_augment(train, TaylorConfig(strategy="B", multiple=args.multiple, delta_A=0.01), rng), 0.0),
        "direct": (train, 0.5),
    }
    held = valid[: max(len(valid) // 10, 1)]  # early-stopping set (disjoint from the test part)
    test = valid[len(held):]
    results = {}
    for name, (rows, alpha) in settings.items():
        if name not in args.settings:
            continue
        cfg = TrainConfig(epochs=args.epochs, force_weight=alpha, learning_rate=args.learning_rate,
                          optimizer=args.optimizer,
                          batch_size=args.batch_size, patience=args.patience)
        start = time.perf_counter()
        net, report = train_committee(rows, held, desc, model, cfg, seed=0)
        m = evaluate_surrogate(net, test)
        results[name] = {"force_mae_eV_A": m["force_mae_eV_A"], "energy_mae_meV_atom": 1e3 * m["energy_mae_eV_atom"],
                         "n_train_rows": len(rows), "epochs": report.epochs, "seconds": time.perf_counter() - start}
        print(name, json.dumps(results[name]), flush=True)
    if "energy-only" not in results or "direct" not in results:
        return
    e, d = results["energy-only"]["force_mae_eV_A"], results["direct"]["force_mae_eV_A"]
    for name in [n for n in ("taylor-A", "taylor-B") if n in results]:
        t = results[name]["force_mae_eV_A"]
        print(f"{name}: fraction of the direct-training improvement = {(e - t) / (e - d):.2f}")


if __name__ == "__main__":
    main()
