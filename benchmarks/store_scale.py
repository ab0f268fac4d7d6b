"""Store throughput at scale: batched inserts, durable single inserts, reads, id look-ups.

    OMP_NUM_THREADS=1 python benchmarks/store_scale.py --rows 100000

Fills a fresh SQLite store with N rattled (H2O)6 clusters (18 atoms, energy + forces, a job
hash each) through ``Store.add_many`` in batches, then times: single ``Store.add`` calls (one
durable transaction each, as the dispatcher stores every result the loop depends on),
streaming every row, ``rows(ids=...)`` of 20 000 random ids, ``job_hashes()``, and the same
batched insert and streaming read through ASE's own database API (the store's previous path)
on a smaller sample, for the ratio.  Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.io import read

from alearn.data.ase_backend import AseBackend
from alearn.data.records import Labels, Provenance, Source
from alearn.data.store import Store

HEXAMER = Path(__file__).resolve().parents[1] / "campaigns" / "structures" / "water-hexamer.xyz"


def items(start: int, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    base = read(HEXAMER)
    out = []
    for k in range(start, start + count):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.03, atoms.positions.shape)
        labels = Labels(energy=-829.0 + rng.normal(0.0, 0.3), forces=rng.normal(0.0, 0.5, (18, 3)))
        out.append((atoms, labels, Provenance(Source.REFERENCE, 1, "xtb", "p" * 16, f"job{k:08d}x")))
    return out


def timed(label: str, count: int, step, unit: str = "rows") -> float:
    start = time.perf_counter()
    step()
    seconds = time.perf_counter() - start
    print(f"{label:<44s} {seconds:8.2f} s  {count / seconds:9.0f} {unit}/s", flush=True)
    return seconds


def fill(store: Store, first: int, total: int, batch: int) -> None:
    """Insert rows ``first`` … ``total`` in batches; only the ``add_many`` calls are timed."""
    seconds = 0.0
    for start in range(first, total, batch):
        prepared = items(start, min(batch, total - start), seed=start)
        began = time.perf_counter()
        store.add_many(prepared)
        seconds += time.perf_counter() - began
    count = total - first
    print(f"{'add_many, ' + str(count) + ' more rows in batches':<44s} {seconds:8.2f} s  "
          f"{count / seconds:9.0f} rows/s (the store growing to {total})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=2000, help="rows for the ASE-API comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "store.db"
        prepared = items(0, args.batch, seed=0)
        with Store.open(path) as store:
            timed(f"add_many, one batch of {args.batch}", args.batch, lambda: store.add_many(prepared))
            fill(store, args.batch, args.rows, args.batch)
            single = items(args.rows, 200, seed=args.rows)
            timed("add, one durable transaction each (200)", 200,
                  lambda: [store.add(*item) for item in single], unit="adds")
            total = len(store)
            timed(f"rows(): stream all {total}", total, lambda: sum(1 for _ in store.rows()))
            ids = np.random.default_rng(1).choice(np.arange(1, total + 1), 20_000, replace=False)
            timed("rows(ids=20 000 random ids)", 20_000, lambda: sum(1 for _ in store.rows(ids=ids)))
            timed(f"job_hashes() of {total}", total, store.job_hashes)
        print(f"store size: {path.stat().st_size / total / 1024:.2f} KiB per row")
        compare(Path(scratch), args.sample)


def compare(scratch: Path, sample: int) -> None:
    """The same inserts and reads through ASE's database API, side by side."""
    batch = items(0, sample, seed=0)
    for name, opener in (("plain SQL", lambda p: Store.open(p)),
                         ("ASE API", lambda p: Store(AseBackend.open(str(p)), str(p), 0.5))):
        path = scratch / f"{name.replace(' ', '-')}.db"
        Store.open(path).close()  # create the file (both backends share the format)
        with opener(path) as store:
            timed(f"[{name}] add_many of {sample}", sample, lambda: store.add_many(batch))
            timed(f"[{name}] rows(): stream {sample}", sample, lambda: sum(1 for _ in store.rows()))


if __name__ == "__main__":
    main()
