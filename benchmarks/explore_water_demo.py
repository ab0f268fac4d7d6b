"""One real exploration: a water cluster, a committee trained on a few GFN2-xTB points.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/explore_water_demo.py --out /tmp/explore_demo

1. a (H2O)_n cluster relaxed with GFN2-xTB (tblite);
2. ``--train`` reference structures from a short xTB Langevin MD at 350 K;
3. a committee (4 members) trained on them (energies and forces);
4. ``--walkers`` Langevin walkers at 300 K on the committee, monitored every 10 steps;
5. selection (budget, decorrelation, farthest-point sampling) with explanations;
6. the selected structures labelled with xTB: predicted spread vs true force error → calibration;
7. a close-contact set from the walkers' closest approaches.
Prints a report and writes ``summary.json`` (and the model directory) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.md.langevin import Langevin
from ase.optimize import BFGS

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore.integrators import initial_velocities
from alearn.explore.run import describe, run_walkers, walker_plan
from alearn.explore.sanity import min_pair_distances
from alearn.select.calibration import calibrate
from alearn.select.close_contact import close_contact_seeds, close_contact_set
from alearn.select.selector import select_candidates


def xtb():
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def water_cluster(n: int, rng: np.random.Generator) -> Atoms:
    grid = [(x, y, z) for x in range(3) for y in range(3) for z in range(3)][:n]
    atoms = Atoms()
    for point in grid:
        w = molecule("H2O")
        w.rotate(rng.uniform(0, 360), rng.normal(size=3), center="COP")
        w.translate(2.9 * np.array(point, dtype=float))
        atoms += w
    atoms.center(vacuum=6.0)
    atoms.calc = xtb()
    BFGS(atoms, logfile=None).run(fmax=0.05, steps=200)
    atoms.calc = None
    return atoms


def labelled(atoms: Atoms) -> Atoms:
    out = atoms.copy()
    out.calc = xtb()
    energy, forces = out.get_potential_energy(), out.get_forces()
    out.calc = SinglePointCalculator(out, energy=energy, forces=forces)
    return out


def reference_md(start: Atoms, count: int, rng: np.random.Generator) -> list[Atoms]:
    atoms = start.copy()
    atoms.calc = xtb()
    initial_velocities(atoms, 350.0, rng)
    dyn = Langevin(atoms, 0.5 * units.fs, temperature_K=350.0, friction=0.02 / units.fs, rng=rng,
                   fixcm=False)
    frames = []
    for _ in range(count):
        dyn.run(10)
        frames.append(labelled(atoms))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/explore_demo"))
    parser.add_argument("--waters", type=int, default=6)
    parser.add_argument("--train", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--walkers", type=int, default=4)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--lo", type=float, default=0.1)
    parser.add_argument("--hi", type=float, default=0.8)
    parser.add_argument("--bootstrap", action="store_true",
                        help="train each member on its own bootstrap resample")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"args": {k: str(v) for k, v in vars(args).items()}}

    t0 = time.perf_counter()
    start = water_cluster(args.waters, rng)
    data = reference_md(start, args.train, rng)
    summary["reference_s"] = time.perf_counter() - t0

    from alearn.train.trainer import train_committee

    t0 = time.perf_counter()
    model, report = train_committee(
        data, [], DescriptorConfig(), CommitteeConfig(members=4, hidden=(16, 16)),
        TrainConfig(epochs=args.epochs, force_weight=0.5, validation_fraction=0.1, patience=0,
                    learning_rate=3e-3, bootstrap=args.bootstrap), seed=0)
    model_dir = args.out / "model"
    model.save(model_dir)
    summary["train_s"] = time.perf_counter() - t0
    summary["train_metrics"] = report.train_metrics
    print(f"committee trained on {len(data)} xTB structures in {summary['train_s']:.0f} s: "
          f"force MAE {report.train_metrics['force_mae_eV_A']:.3f} eV/Å")

    explore = ExploreConfig(walkers=args.walkers, timestep_fs=0.5,
                            monitor=MonitorConfig(every_steps=10),
                            stages=(StageConfig(temperature_K=300.0, steps=args.steps),))
    select = SelectConfig(trust=TrustConfig(lo=args.lo, hi=args.hi), budget=args.budget,
                          min_frame_gap=50)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as engine:
        result = run_walkers([start], walker_plan(explore, select, 1), str(model_dir), engine,
                             np.random.default_rng(1), args.out / "explore")
    summary["explore_s"] = time.perf_counter() - t0
    print(describe(result))
    selection = select_candidates(result, select)
    print(selection.summary())

    predicted, true = [], []
    for item in selection.selected:
        ref = labelled(item.atoms)
        model_calc = model.as_calculator()
        probe = item.atoms.copy()
        probe.calc = model_calc
        error = np.linalg.norm(probe.get_forces() - ref.get_forces(), axis=1).max()
        predicted.append(item.measure)
        true.append(float(error))
    if len(predicted) >= 3:
        calibration = calibrate(predicted, true, target_error=0.1)
        print(calibration.text())
        summary["calibration"] = calibration.__dict__

    seeds = close_contact_seeds(result)
    print(f"{len(seeds)} near-contact frames" + ("" if seeds else
          "; no walker came near a close contact — demonstrating the set on the start structure"))
    contacts = close_contact_set(seeds or [start], min_pair_distances(data), margin_A=0.1,
                                 per_pair=2, rng=np.random.default_rng(2))
    for item in contacts:
        wall = labelled(item.atoms).get_potential_energy() - data[0].get_potential_energy()
        print(f"close contact {item.pair}: target {item.target_A:.3f} Å, reached "
              f"{item.distance_A:.3f} Å (compression {item.compression:.3f}); xTB energy "
              f"{wall:+.2f} eV above the first training structure")
    c = result.counts
    summary.update({
        "counts": {"accurate": c.accurate, "candidate": c.candidate, "failed": c.failed,
                   "insane": c.insane},
        "walkers": [{"walker": w.walker, "counts": w.counts.__dict__, "stop": w.stop_reason,
                     "rollbacks": w.rollbacks, "steps": w.steps_done} for w in result.walkers],
        "selected": [{"walker": s.walker, "step": s.step, "measure": s.measure,
                      "why": s.explanation.text} for s in selection.selected],
        "true_force_error_eV_A": true, "close_contacts": [
            {"pair": i.pair, "target_A": i.target_A, "distance_A": i.distance_A} for i in contacts],
    })
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
