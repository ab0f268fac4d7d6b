"""MD throughput (atom-steps/s) of the committee calculator: one network vs K = 8, on the
compiled kernel (``numba``) and the torch path side by side in one run.

Systems: 192-atom periodic water box and 108-atom fcc copper, Chebyshev descriptor Rc 6.5 Å
(radial, order 18) and 4.0 Å (angular, order 4), two hidden layers of 25.  Networks have random
weights with a small output scale (timing does not depend on the weights; the small scale keeps
the short NVE runs tame).  Velocity Verlet, 0.5 fs, Verlet skin 1 Å.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_md_throughput.py [--steps 200] \
        [--backends numba torch] [--repeat 3]

Reports wall-clock and process-CPU throughput (single-threaded torch, best of ``--repeat``
runs): on a shared machine the CPU figure is the one that stands for an idle core.  The backend
is chosen through ``$ALEARN_BACKEND`` (what ``Committee.evaluate_fast`` reads).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from ase import units
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

sys.path.insert(0, str(Path(__file__).parent))
from ann_systems import copper_108, water_box  # noqa: E402

from alearn.descriptors.chebyshev import ChebyshevSpec, collate, features, topology  # noqa: E402
from alearn.models.committee import Committee  # noqa: E402


def make_committee(atoms, members: int) -> Committee:
    elements = tuple(sorted(set(atoms.get_chemical_symbols())))
    spec = ChebyshevSpec(elements, 6.5, 4.0, 18, 4)
    committee = Committee(spec, (25, 25), "softplus", members, seeds=range(members))
    graph = collate([atoms], [topology(atoms, spec)])
    g = features(spec, graph, torch.as_tensor(atoms.positions))
    with torch.no_grad():
        for t in range(len(elements)):
            x = g[graph.species == t]
            committee.shift[t] = x.mean(0)
            std = x.std(0)
            committee.scale[t] = torch.where(std > 1e-8, 1 / std.clamp_min(1e-8), 0 * std)
            committee.feature_min[t], committee.feature_max[t] = x.min(0).values, x.max(0).values
        committee.energy_scale.fill_(0.02)
    return committee


def run(atoms, members: int, dtype: str, steps: int, analytic: bool = True,
        backend: str = "auto") -> dict:
    os.environ["ALEARN_BACKEND"] = backend
    atoms = atoms.copy()
    calc = make_committee(atoms, members).as_calculator(dtype=dtype, skin_A=1.0, analytic=analytic)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))  # noqa
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.run(5)
    start, cpu = time.perf_counter(), time.process_time()
    dyn.run(steps)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"atoms": len(atoms), "members": members, "dtype": dtype, "analytic": analytic,
            "backend": backend,
            "steps": steps, "seconds": elapsed, "cpu_seconds": cpu,
            "atom_steps_per_s": len(atoms) * steps / elapsed,
            "atom_steps_per_cpu_s": len(atoms) * steps / cpu,
            "neighbour_builds": calc.evaluate._verlet.builds}


def best_of(repeat: int, *args, **kwargs) -> dict:
    """The run with the least CPU time of ``repeat`` (shared machine: the others were slowed)."""
    return min((run(*args, **kwargs) for _ in range(repeat)), key=lambda r: r["cpu_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--backends", nargs="+", default=["numba", "torch"],
                        choices=["numba", "torch"])
    parser.add_argument("--autograd", action="store_true", help="also time the autograd path")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("load average at start:", os.getloadavg(), flush=True)
    rows = []
    for name, atoms in (("water-192", water_box()), ("cu-108", copper_108())):
        for dtype in ("float32", "float64"):
            for members in (1, 8):
                for backend in args.backends:
                    steps = args.steps if backend == "numba" else max(args.steps // 4, 10)
                    row = {"system": name, **best_of(args.repeat, atoms, members, dtype, steps,
                                                     backend=backend)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                if args.autograd:
                    row = {"system": name, **run(atoms, members, dtype, max(args.steps // 4, 10), False,
                                                 backend="torch")}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print("load average at end:", os.getloadavg())
    print(table(rows))


def table(rows: list[dict]) -> str:
    """Markdown table with the K = 8 / K = 1 cost ratio (CPU time per step) per backend."""
    per_step = {(r["system"], r["dtype"], r["backend"], r["members"], r["analytic"]):
                r["cpu_seconds"] / r["steps"] for r in rows}
    lines = ["| system | dtype | backend | K | atom-steps/s (wall) | atom-steps per CPU-s "
             "| CPU ms/step | K=8 / K=1 |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tag = "" if r["analytic"] else " (autograd)"
        key = (r["system"], r["dtype"], r["backend"])
        ratio = ""
        if r["members"] == 8 and r["analytic"] and key + (1, True) in per_step:
            ratio = f"{per_step[key + (8, True)] / per_step[key + (1, True)]:.2f}"
        lines.append(f"| {r['system']} | {r['dtype']} | {r['backend']}{tag} | {r['members']} "
                     f"| {r['atom_steps_per_s']:.0f} | {r['atom_steps_per_cpu_s']:.0f} "
                     f"| {1e3 * r['cpu_seconds'] / r['steps']:.1f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
