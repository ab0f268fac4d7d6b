"""The dispatcher at scale: 2 000 fast calculations, controller memory, isolation overhead.

    OMP_NUM_THREADS=1 python benchmarks/dispatch_scale.py --tasks 2000

Labels N distinct rattled 4-atom Cu cells with ASE's EMT (≈ 2 ms each: the dispatcher's own
cost dominates) into a fresh store, three ways: in-process engine with the calculator inline
(``isolate = false``), in-process engine isolated (the default: one forked process per
calculation), and a 2-worker Dask LocalCluster (isolated).  For each it prints the wall time
per calculation and the controller's resident memory after every quarter of the tasks — flat
means bounded: nothing per finished task is kept beyond its small outcome record.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cells(n: int) -> list:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", cubic=True)
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        out.append(atoms)
    return out


def run(structures: list, root: Path, engine: str, isolate: bool) -> None:
    from alearn.config.dispatch import DispatchConfig, Profile
    from alearn.data.store import Store
    from alearn.label import label_structures, make_engine
    from alearn_calculators.analytic import EmtCalculator

    calc = EmtCalculator(EmtCalculator.Params(profile=Profile(isolate=isolate)))
    config = DispatchConfig(engine=engine, workers=2)
    n = len(structures)
    marks: list[str] = []

    def progress(outcome, done: int, total: int) -> None:
        if done % (total // 4) == 0:
            marks.append(f"{done}: {rss_mib():.0f}")

    root.mkdir(parents=True)
    with make_engine(config) as eng, Store.open(root / "store.db") as store:
        start = time.perf_counter()
        report = label_structures(structures, calc, calc.params.profile, store, engine=eng,
                                  jobs_dir=root / "jobs", max_concurrent=config.concurrency,
                                  progress=progress)
        seconds = time.perf_counter() - start
    assert report.stored == n, report.failures[:3]
    label = f"{engine}, {'isolated' if isolate else 'inline'}"
    print(f"{label:<22s} {seconds:7.1f} s  {1e3 * seconds / n:6.1f} ms/calc   "
          f"controller RSS MiB after tasks {', '.join(marks)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    structures = cells(args.tasks)
    print(f"{args.tasks} EMT calculations (4-atom Cu), start RSS {rss_mib():.0f} MiB")
    with tempfile.TemporaryDirectory() as scratch:
        run(structures, Path(scratch) / "inline", "inprocess", False)
        run(structures, Path(scratch) / "isolated", "inprocess", True)
        if not args.skip_dask:
            run(structures, Path(scratch) / "dask", "local", True)


if __name__ == "__main__":
    main()
