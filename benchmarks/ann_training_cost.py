"""Training cost per epoch: energy only (cached descriptors, no geometry), energy-only + Taylor
(a = 24), direct force training with all force components and with 10 % of them
(``force_fraction = 0.1``), at radial cutoffs 4, 6.5 and 8.5 Å (angular 4 Å or the radial cutoff
if smaller), on the compiled kernel and the torch path (``$ALEARN_BACKEND`` of the child
process): time per epoch and peak memory (peak RSS during epochs 2..E, one fresh process per
setting), as in seed 004, Fig. 7.
Times are process CPU seconds (single-threaded torch), robust to a shared machine; each epoch
includes the per-epoch validation pass (on the training set here).

Data: rattled 192-atom water boxes labelled with a cheap pair potential (timing does not depend
on the labels).  Networks 2×25, one member, Adam, batch 4.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_training_cost.py --structures 8 \
        [--cutoffs 6.5] [--modes energy taylor direct direct-10%] [--backends numba torch]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def dataset(n: int):
    from ase.calculators.lj import LennardJones

    from ann_systems import water_box
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    out = []
    for k in range(n):
        atoms = water_box(seed=k)
        atoms.rattle(0.05, seed=k)
        atoms.calc = LennardJones(sigma=1.0, epsilon=0.01, rc=3.0)
        labels = Labels(float(atoms.get_potential_energy()), atoms.get_forces().copy())
        atoms.calc = None
        out.append(LabelledStructure(atoms, labels, Provenance(Source.REFERENCE), id=k + 1))
    return out


def _peak_rss_MiB() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def one(mode: str, cutoff: float, n: int, epochs: int) -> dict:
    """Train one setting; time (process CPU) and peak RSS of epochs 2..E (epoch 1 warms up)."""
    import numpy as np
    import torch

    from alearn.augment.taylor import taylor_augment
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TaylorConfig, TrainConfig
    from alearn.train.trainer import train_committee

    torch.set_num_threads(1)
    data = dataset(n)
    rows, alpha, fraction = data, 0.5, 0.1 if mode == "direct-10%" else 1.0
    if mode == "energy":
        alpha = 0.0
    if mode == "taylor":
        rows = data + taylor_augment(data, TaylorConfig(strategy="B", multiple=24, delta_A=0.01),
                                     np.random.default_rng(0))
        alpha = 0.0
    desc = DescriptorConfig(radial_cutoff_A=cutoff, angular_cutoff_A=min(4.0, cutoff),
                            radial_order=18, angular_order=4)
    cfg = TrainConfig(epochs=epochs, force_weight=alpha, batch_size=4, patience=0,
                      validation_fraction=0.0, force_fraction=fraction)
    stamps: list[tuple[float, float]] = []
    peak = [0.0]

    def progress(epoch: int, record: dict) -> None:
        stamps.append((time.process_time(), time.perf_counter()))
        if epoch == 0:
            _reset_peak()
        else:
            peak[0] = max(peak[0], _peak_rss_MiB())

    start = time.process_time()
    train_committee(rows, [], desc, CommitteeConfig(members=1, hidden=(25, 25)), cfg, seed=0,
                    progress=progress)
    cpu = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    wall = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
    return {"mode": mode, "backend": os.environ.get("ALEARN_BACKEND", "auto"), "cutoff_A": cutoff, "rows": len(rows), "atoms": sum(len(r.atoms) for r in rows),
            "epochs_timed": len(cpu), "cpu_s_per_epoch": float(np.mean(cpu)),
            "wall_s_per_epoch": float(np.mean(wall)), "peak_rss_MiB": peak[0],
            "total_cpu_s": time.process_time() - start}


MODES = ("energy", "taylor", "direct", "direct-10%")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--structures", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--cutoffs", type=float, nargs="+", default=[4.0, 6.5, 8.5])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--backends", nargs="+", default=["numba", "torch"], choices=["numba", "torch"])
    p.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]), args.structures, args.epochs)))
        return
    print("load average at start:", os.getloadavg(), flush=True)
    rows = []
    for cutoff in args.cutoffs:
        for mode in args.modes:
            for backend in args.backends:
                env = {**os.environ, "ALEARN_BACKEND": backend}
                out = subprocess.run([sys.executable, __file__, "--structures",
                                      str(args.structures), "--epochs", str(args.epochs),
                                      "--one", mode, str(cutoff)],
                                     capture_output=True, text=True, check=True, env=env)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
    print("load average at end:", os.getloadavg())
    print("\n| Rc (Å) | mode | backend | rows | atoms/epoch | CPU s/epoch | atoms per CPU-s "
          "| peak RSS in training (MiB) |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cutoff_A']} | {r['mode']} | {r['backend']} | {r['rows']} | {r['atoms']} "
              f"| {r['cpu_s_per_epoch']:.3f} | {r['atoms'] / r['cpu_s_per_epoch']:.0f} "
              f"| {r['peak_rss_MiB']:.0f} |")


if __name__ == "__main__":
    main()
