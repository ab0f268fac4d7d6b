"""Where the time of one committee evaluation goes on the compiled kernel path: whole
``CommitteeEvaluator`` call, fused descriptor, networks (values and input gradients), the
contraction dE/dG → forces, the extrapolation check; and the contraction kernel alone with and
without its angular part.  Static geometry (graph reused), process CPU ms per call, mean of 20.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_kernel_profile.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from ann_md_throughput import make_committee  # noqa: E402
from ann_systems import copper_108, water_box  # noqa: E402

from alearn.descriptors import kernel_numba  # noqa: E402
from alearn.descriptors.fused import fused_descriptor  # noqa: E402


def cpu_ms(fn, n: int = 20) -> float:
    fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return 1e3 * (time.process_time() - start) / n


def phases(atoms, members: int, dtype: str) -> dict[str, float]:
    ev = make_committee(atoms, members).evaluator(dtype=dtype, skin_A=1.0)
    c = ev.committee
    graph = ev._graph(atoms)
    pos = torch.as_tensor(atoms.positions, dtype=c.dtype)
    fused = fused_descriptor(c.spec, graph, pos)
    s = graph.species
    x = (fused.features - c.shift[s]) * c.scale[s]
    with torch.no_grad():
        _, dx = c.networks.value_and_gradient(x, s)
    cot = dx * (c.scale[s] * c.energy_scale)
    args = fused._kernel_args()
    k_cot = np.random.default_rng(0).random((pos.shape[0], c.spec.n_features, members))
    out, vir = np.zeros((pos.shape[0], 3, members)), np.zeros((0, 3, 3, members))
    radial_only = args[:10] + (0,) + args[11:]
    return {"evaluation": cpu_ms(lambda: ev(atoms, stress=False)),
            "descriptor": cpu_ms(lambda: fused_descriptor(c.spec, graph, pos)),
            "networks": cpu_ms(lambda: c.networks.value_and_gradient(x, s)),
            "contraction": cpu_ms(lambda: fused.forces_and_virial(cot, False)),
            "extrapolation": cpu_ms(lambda: c.extrapolation(graph, fused.features)),
            "kernel_forces": cpu_ms(lambda: kernel_numba.forces(*args, k_cot, out, vir)),
            "kernel_forces_radial_only": cpu_ms(
                lambda: kernel_numba.forces(*radial_only, k_cot, out, vir))}


def main() -> None:
    torch.set_num_threads(1)
    print("load average at start:", os.getloadavg(), flush=True)
    for name, atoms in (("water-192", water_box()), ("cu-108", copper_108())):
        for dtype in ("float32", "float64"):
            for members in (1, 8):
                row = phases(atoms, members, dtype)
                print(name, dtype, f"K={members}",
                      " ".join(f"{k}={v:.2f}" for k, v in row.items()), flush=True)
    print("load average at end:", os.getloadavg())


if __name__ == "__main__":
    main()
