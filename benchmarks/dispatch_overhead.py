"""Dispatcher overhead per calculation against a plain ASE loop, on EMT.

Labels the same rattled Cu supercells three ways and prints seconds per calculation:

* plain:      ``atoms.calc = EMT(); get_potential_energy(); get_forces(); get_stress()``
* plain+db:   the same, plus writing each result into an ASE SQLite database
* dispatcher: :func:`alearn.label.label_structures` on the in-process engine into a Store
              (job directory, attempt directory, atomic result.json, validation, store insert)
* dispatcher-no-store: the same with a store that keeps nothing (the dispatcher's own cost)
* dask:       the same on a 2-worker Dask LocalCluster (optional, --dask)

Usage: OMP_NUM_THREADS=1 python benchmarks/dispatch_overhead.py --structures 200 --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator


def structures(n: int, size: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    base = bulk("Cu", cubic=True) * (size, size, size)
    frames = []
    for _ in range(n):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        frames.append(atoms)
    return frames


def plain(frames: list, db_path: Path | None) -> float:
    import ase.db

    db = ase.db.connect(str(db_path)) if db_path is not None else None
    start = time.perf_counter()
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = EMT()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        if db is not None:
            atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
            db.write(atoms)
    return time.perf_counter() - start


class NullStore:
    """Accepts everything, stores nothing: isolates the dispatcher's own cost from the store's."""

    def __init__(self) -> None:
        self.n = 0

    def __enter__(self) -> "NullStore":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def add(self, atoms, labels, provenance):
        from alearn.data.store import Inserted

        self.n += 1
        return Inserted(self.n)


def dispatcher(frames: list, root: Path, engine_kind: str, workers: int,
               null_store: bool = False) -> float:
    from alearn.config.dispatch import DispatchConfig, Profile
    from alearn.data.store import Store
    from alearn.label import label_structures, make_engine
    from alearn_calculators.analytic import EmtCalculator

    calc = EmtCalculator(EmtCalculator.Params())
    config = DispatchConfig(engine=engine_kind, workers=workers)
    root.mkdir(parents=True, exist_ok=True)
    opened = NullStore() if null_store else Store.open(root / "store.db")
    with make_engine(config) as engine, opened as store:
        start = time.perf_counter()
        report = label_structures(frames, calc, Profile(), store, engine=engine,
                                  jobs_dir=root / "jobs", max_concurrent=config.concurrency)
        elapsed = time.perf_counter() - start
    assert report.stored == len(frames), report.failures[:3]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=200)
    parser.add_argument("--size", type=int, default=2, help="supercell repeats of the 4-atom cell")
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--dask", action="store_true", help="also time a 2-worker LocalCluster")
    args = parser.parse_args()
    frames = structures(args.structures, args.size, seed=0)
    n = len(frames)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            times = {"plain": plain(frames, None), "plain+db": plain(frames, root / "plain.db"),
                     "dispatcher": dispatcher(frames, root / "d", "inprocess", 1),
                     "dispatcher-no-store": dispatcher(frames, root / "n", "inprocess", 1, True)}
            if args.dask:
                times["dask(2 workers)"] = dispatcher(frames, root / "k", "local", 2)
        for key, value in times.items():
            best[key] = min(best.get(key, np.inf), value)
    print(f"{n} EMT calculations, {len(frames[0])} atoms each, best of {args.repeat}")
    for key, value in best.items():
        print(f"  {key:20s} {1e3 * value / n:8.2f} ms/calc   ratio to plain {value / best['plain']:6.2f}"
              f"   overhead {1e3 * (value - best['plain']) / n:7.2f} ms/calc")


if __name__ == "__main__":
    main()
