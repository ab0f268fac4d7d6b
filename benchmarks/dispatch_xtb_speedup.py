"""Speed-up of 2 Dask workers over 1 on GFN2-xTB water boxes (periodic, 21 molecules each).

Also prints how many calculations were in flight on average (sum of the calculations' own run
times over the wall time): close to the worker count when the dispatcher keeps every worker
busy, whatever else runs on the machine.

Usage: OMP_NUM_THREADS=1 python benchmarks/dispatch_xtb_speedup.py --boxes 8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule
from scipy.spatial.transform import Rotation


def water_box(n_side: int, n_molecules: int, seed: int) -> Atoms:
    """``n_molecules`` randomly oriented waters on a cubic grid at about 1 g/cm³."""
    rng = np.random.default_rng(seed)
    length = (n_molecules * 18.015 / 0.6022) ** (1 / 3)  # Å, for 1 g/cm³
    spacing = length / n_side
    sites = np.array([(i, j, k) for i in range(n_side) for j in range(n_side)
                      for k in range(n_side)], dtype=float)
    sites = sites[rng.permutation(len(sites))[:n_molecules]]
    box = Atoms(cell=[length] * 3, pbc=True)
    water = molecule("H2O")
    water.positions -= water.positions[0]
    for site in sites:
        rotated = Rotation.random(random_state=rng.integers(1 << 31)).apply(water.positions)
        box += Atoms("OH2", positions=rotated + (site + 0.5) * spacing)
    return box


def busy_seconds(jobs_dir: Path) -> float:
    """Sum of the calculations' own run times (``elapsed_s`` of every result.json)."""
    import json

    return sum(json.loads(p.read_text())["elapsed_s"] for p in jobs_dir.glob("*/result.json"))


def run(frames: list, workers: int, root: Path) -> tuple[float, float]:
    from alearn.config.dispatch import DispatchConfig, Profile
    from alearn.data.store import Store
    from alearn.label import label_structures, make_engine
    from alearn_calculators.xtb import XtbCalculator

    calc = XtbCalculator(XtbCalculator.Params(method="GFN2-xTB"))
    with make_engine(DispatchConfig(engine="local", workers=workers)) as engine, \
            Store.open(root / "store.db") as store:
        engine.client.run(lambda: None)  # workers are up before the clock starts
        start = time.perf_counter()
        report = label_structures(frames, calc, Profile(), store, engine=engine,
                                  jobs_dir=root / "jobs", max_concurrent=workers)
        elapsed = time.perf_counter() - start
    assert report.stored == len(frames), report.failures[:3]
    return elapsed, busy_seconds(root / "jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=8)
    parser.add_argument("--molecules", type=int, default=21)
    args = parser.parse_args()
    side = int(np.ceil(args.molecules ** (1 / 3)))
    frames = [water_box(side, args.molecules, seed) for seed in range(args.boxes)]
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            times[workers] = run(frames, workers, Path(tmp))
    n = len(frames)
    print(f"{n} GFN2-xTB water boxes of {len(frames[0])} atoms")
    for workers, (wall, busy) in times.items():
        print(f"  {workers} worker(s): {wall:7.2f} s wall ({wall / n:.2f} s/box); calculations "
              f"in flight on average {busy / wall:.2f} (sum of their run times / wall time)")
    print(f"  speed-up 2 vs 1: {times[1][0] / times[2][0]:.2f}")


if __name__ == "__main__":
    main()
