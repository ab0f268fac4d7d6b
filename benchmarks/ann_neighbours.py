"""Neighbour-list candidates for the Chebyshev descriptor: ASE (numpy), matscipy (C), vesin (C++).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ann_neighbours.py
(matscipy is optional: `pip install matscipy`; it is skipped when absent.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ann_systems import copper_108, water_box  # noqa: E402


def timed(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def main(cutoff_A: float = 6.5) -> None:
    from ase.neighborlist import neighbor_list
    import vesin

    print("| library | system | pairs | ms |\n|---|---|---|---|")
    for name, atoms in (("water-192", water_box()), ("cu-108", copper_108())):
        candidates = {"ase": (lambda: neighbor_list("ijS", atoms, cutoff_A), 3)}
        try:
            from matscipy.neighbours import neighbour_list

            candidates["matscipy"] = (lambda: neighbour_list("ijS", atoms, cutoff_A), 20)
        except ImportError:
            pass
        nl = vesin.NeighborList(cutoff=cutoff_A, full_list=True)
        candidates["vesin"] = (lambda: nl.compute(atoms.positions, atoms.cell[:], True, "ijS"), 20)
        pairs = len(neighbor_list("i", atoms, cutoff_A))
        for lib, (fn, repeat) in candidates.items():
            print(f"| {lib} | {name} | {pairs} | {timed(fn, repeat):.1f} |", flush=True)


if __name__ == "__main__":
    main()
