"""alearn side of the GPR benchmark: local GPR on butane (GFN2-xTB data from gpr_butane_data.py).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpr_butane.py \
        --copies /tmp/gpr_bench/butane_copies_0.055.extxyz /tmp/gpr_bench/butane_copies_0.01.extxyz

Fits LocalGPR (inverse-distance fingerprint unless --fingerprint) on the training structures'
energies and forces, then labels every copy with the GP mean AND its energy std, predicted by the
subset its parent was fitted in (as gpr_augment does).  Reports fit time, labelling time, label
MAE vs the true xTB energies, the fraction the default gate (0.05 eV) would send to xTB, and the
peak RSS of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from ase.io import read

from alearn.config.gpr import GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.models.gpr import LocalGPR


def labelled(images) -> list[LabelledStructure]:
    return [LabelledStructure(a, Labels(a.get_potential_energy(), a.get_forces()),
                              Provenance(Source.REFERENCE), id=i + 1) for i, a in enumerate(images)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", default="/tmp/gpr_bench/butane_train.extxyz")
    parser.add_argument("--copies", nargs="+", required=True)
    parser.add_argument("--fingerprint", default="inverse_distances")
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--max-copies", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    train = labelled(read(args.train, index=":"))
    cfg = GprConfig(fingerprint=args.fingerprint, max_rows=args.max_rows)
    start, cpu = time.perf_counter(), time.process_time()
    model = LocalGPR.fit(train, cfg, seed=0)
    out = {"code": "alearn LocalGPR", "fingerprint": args.fingerprint, "train": len(train),
           "subsets": len(model.subsets), "fit_s": time.perf_counter() - start,
           "fit_cpu_s": time.process_time() - cpu,
           "hyper": [str(r.hyper) for r in model.reports()], "runs": []}
    print(json.dumps(out), flush=True)
    for path in args.copies:
        copies = read(path, index=":")[: args.max_copies]
        truth = np.array([c.get_potential_energy() for c in copies])
        names = [model.training_subsets[c.info["parent"]] for c in copies]
        for c in copies:
            c.calc = None
        start, cpu = time.perf_counter(), time.process_time()
        pred = model.predict(copies, subsets=names)
        label_s, label_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        run = {"copies_file": path, "copies": len(copies), "label_s": label_s, "label_cpu_s": label_cpu_s,
               "label_mae_eV": float(np.abs(pred.energy - truth).mean()),
               "mean_std_eV": float(pred.energy_std.mean()),
               "gated_fraction": float(np.mean(pred.energy_std > 0.05)),
               "kept_mae_eV": float(np.abs(pred.energy - truth)[pred.energy_std <= 0.05].mean()),
               "gated_mae_eV": float(np.abs(pred.energy - truth)[pred.energy_std > 0.05].mean())
               if np.any(pred.energy_std > 0.05) else None,
               "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        out["runs"].append(run)
        print(json.dumps(run), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
