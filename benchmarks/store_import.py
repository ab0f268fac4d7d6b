"""Store and import throughput: structures per second for import, re-import and export.

    OMP_NUM_THREADS=1 python benchmarks/store_import.py --structures 2000

Writes N rattled (H2O)6 clusters (18 atoms, energy + forces) to extended XYZ, imports them into
a fresh SQLite store (batches of 256, one transaction each), imports the same file again (every
structure found by its content hash, nothing written), and exports the store back to extended
XYZ.  Prints the wall time of each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from alearn.data.store import Store
from alearn.data.transfer import export_extxyz, import_files

HEXAMER = Path(__file__).resolve().parents[1] / "campaigns" / "structures" / "water-hexamer.xyz"


def make_file(path: Path, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    base = read(HEXAMER)
    frames = []
    for _ in range(count):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.03, atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=rng.normal(-829.0, 0.3),
                                           forces=rng.normal(0.0, 0.5, (len(atoms), 3)))
        frames.append(atoms)
    write(path, frames, format="extxyz")


def timed(label: str, count: int, step) -> None:
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    print(f"{label:<28s} {seconds:8.2f} s  {count / seconds:8.0f} structures/s   {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=2000)
    args = parser.parse_args()
    n = args.structures
    with tempfile.TemporaryDirectory() as scratch:
        source, db = Path(scratch) / "in.extxyz", Path(scratch) / "store.db"
        make_file(source, n)
        with Store.open(db) as store:
            timed("read extxyz (ase.io.read)", n, lambda: len(read(source, index=":")))
            timed("import (new store)", n,
                  lambda: f"{import_files(store, [source])[0].inserted} added")
            timed("re-import (all present)", n,
                  lambda: f"{import_files(store, [source])[0].existing} already stored")
            timed("export-data", n,
                  lambda: f"{export_extxyz(store, Path(scratch) / 'out.extxyz')} written")
        print(f"store size: {db.stat().st_size / n / 1024:.1f} KiB per structure")


if __name__ == "__main__":
    main()
