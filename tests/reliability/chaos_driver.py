"""``python chaos_driver.py ROOT ENGINE ISOLATE N``: label N copper cells with a faulty EMT.

The process the chaos tests kill and restart.  It labels in two calls: first the structures
the faulty calculator treats cleanly (the gate's reference data), then all of them.  Faults
(30 % of the structures, every kind ``faultase`` knows that the engine can survive) come from
``faultase.FaultyEMT``; the transient ones strike once per structure whatever the kills.  It
writes ``workers.json`` (Dask worker pids) when its engine is up and ``summary.json`` (the
outcome of every structure, the stored rows' content hashes) when it is done.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from ase.build import bulk

from alearn.config.dispatch import DispatchConfig
from alearn.config.schema import build
from alearn.data.store import Store
from alearn.label.dispatcher import label_structures
from alearn.label.engines import make_engine
from alearn.label.registry import calculator_params, make_calculator

#: faults per setting: without isolation nothing can stop a hang, and an exit or a segfault
#: of an in-process calculation ends the controller itself
FAULTS = {"isolated": ["exit", "segv", "raise", "hang", "slow", "absurd", "nan", "huge_force"],
          "inline-dask": ["exit", "segv", "raise", "slow", "absurd", "nan", "huge_force"],
          "inline": ["raise", "slow", "absurd", "nan", "huge_force"]}
KWARGS = {"rate": 0.3, "seed": 11, "hang_s": 3600.0, "slow_s": 0.15}


def structures(n: int) -> list:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", cubic=True)
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        out.append(atoms)
    return out


def faults_for(engine: str, isolate: bool) -> list[str]:
    return FAULTS["isolated" if isolate else "inline-dask" if engine == "local" else "inline"]


def calculator(engine: str, isolate: bool):
    raw = {"kind": "ase", "calculator": "faultase:FaultyEMT", "stress": False,
           "kwargs": {**KWARGS, "faults": faults_for(engine, isolate)},
           "profile": {"isolate": isolate}}
    return make_calculator(build(calculator_params()["ase"], raw, path="reference"))


def main(root: Path, engine: str, isolate: bool, n: int) -> None:
    from faultase import FaultyEMT

    calc = calculator(engine, isolate)
    judge = FaultyEMT(**KWARGS, faults=faults_for(engine, isolate))
    frames = structures(n)
    clean = [a for a in frames if not judge._fault(judge._key(a))][:4]
    config = DispatchConfig(engine=engine, workers=2)
    with make_engine(config) as eng, Store.open(root / "store.db") as store:
        client = getattr(eng, "client", None)
        pids = list(client.run(os.getpid).values()) if client is not None else []
        (root / "workers.json").write_text(json.dumps(pids))
        options = dict(engine=eng, jobs_dir=root / "jobs", attempts=4, max_crashes=3,
                       timeout_s=4.0, max_concurrent=config.concurrency)
        label_structures(clean, calc, calc.params.profile, store, **options)
        report = label_structures(frames, calc, calc.params.profile, store, **options)
        hashes = sorted(r.atoms.info["content_hash"] for r in store.rows())
    outcomes = [[o.status.value, o.kind.value if o.kind else ""] for o in report.outcomes]
    (root / "summary.json").write_text(json.dumps({"outcomes": outcomes, "rows": hashes}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "isolated", int(sys.argv[4]))
