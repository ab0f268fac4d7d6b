"""Many walkers in one call: ``Committee.evaluate_fast`` on W structures collated into one graph
vs W separate calls, on the compiled kernel and the torch path (K = 8, float32, forces).

Structures: W rattled copies of the 192-atom water box and of 108-atom fcc Cu (descriptor and
networks as in ``ann_md_throughput.py``); graphs are built once (as a calculator reuses its
Verlet list), so the figures are the evaluation itself.  CPU ms per structure, best of
``--repeat``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_batch_eval.py [--walkers 1 4 16]
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

sys.path.insert(0, str(Path(__file__).parent))
from ann_md_throughput import make_committee  # noqa: E402
from ann_systems import copper_108, water_box  # noqa: E402


def best_cpu_ms(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return 1e3 * best


def measure(name: str, atoms, walkers: int, members: int, repeat: int) -> list[dict]:
    model = make_committee(atoms, members).to(torch.float32)
    copies = []
    for k in range(walkers):
        copy = atoms.copy()
        copy.rattle(0.05, seed=k)
        copies.append(copy)
    one_graph = model.graph(copies)
    one_pos = torch.as_tensor(np.concatenate([a.positions for a in copies]), dtype=torch.float32)
    graphs = [model.graph([a]) for a in copies]
    positions = [torch.as_tensor(a.positions, dtype=torch.float32) for a in copies]
    rows = []
    for backend in ("numba", "torch"):
        batched = best_cpu_ms(lambda: model.evaluate_fast(one_graph, one_pos, backend=backend), repeat)
        separate = best_cpu_ms(lambda: [model.evaluate_fast(g, p, backend=backend)
                                        for g, p in zip(graphs, positions)], repeat)
        rows.append({"system": name, "walkers": walkers, "members": members, "backend": backend,
                     "batched_ms_per_structure": batched / walkers,
                     "separate_ms_per_structure": separate / walkers})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--walkers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("load average at start:", os.getloadavg(), flush=True)
    rows = []
    for name, atoms in (("water-192", water_box()), ("cu-108", copper_108())):
        for walkers in args.walkers:
            rows += measure(name, atoms, walkers, args.members, args.repeat)
    print("load average at end:", os.getloadavg())
    print("| system | backend | walkers | batched: CPU ms / structure | separate calls |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['backend']} | {r['walkers']} | "
              f"{r['batched_ms_per_structure']:.1f} | {r['separate_ms_per_structure']:.1f} |")


if __name__ == "__main__":
    main()
