"""alearn side of the GPR benchmark: local GPR on butane (GFN2-xTB data from gpr_butane_data.py).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpr_butane.py \
        --copies /tmp/gpr_bench/butane_copies_0.055.extxyz /tmp/gpr_bench/butane_copies_0.01.extxyz

Fits LocalGPR (inverse-distance fingerprint unless --fingerprint) on the training structures'
energies and forces, then labels every copy with the GP mean AND its energy std, predicted by the
subset its parent was fitted in (as gpr_augment does); with --modes "E+F+sE+sF" also the std of
every force component (per atom sqrt(sum_xyz var)).  Reports fit and labelling CPU and wall time
with the load average, label MAE (energy and force components) vs the true xTB labels, the
fraction the default gate (0.05 eV) would send to xTB, and the peak RSS of the process.
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


def load() -> list[float]:
    return [float(x) for x in open("/proc/loadavg").read().split()[:3]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", default="/tmp/gpr_bench/butane_train.extxyz")
    parser.add_argument("--copies", nargs="+", required=True)
    parser.add_argument("--fingerprint", default="inverse_distances")
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--max-copies", type=int, default=None)
    parser.add_argument("--modes", nargs="+", default=["E+F+sE"], choices=["E+F+sE", "E+F+sE+sF"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    train = labelled(read(args.train, index=":"))
    cfg = GprConfig(fingerprint=args.fingerprint, max_rows=args.max_rows)
    fit_load = load()
    start, cpu = time.perf_counter(), time.process_time()
    model = LocalGPR.fit(train, cfg, seed=0)
    out = {"code": "alearn LocalGPR", "fingerprint": args.fingerprint, "train": len(train),
           "subsets": len(model.subsets), "fit_s": time.perf_counter() - start,
           "fit_cpu_s": time.process_time() - cpu, "fit_load_before": fit_load, "fit_load_after": load(),
           "fit_peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "hyper": [str(r.hyper) for r in model.reports()], "runs": []}
    print(json.dumps(out), flush=True)
    for path in args.copies:
        copies = read(path, index=":")[: args.max_copies]
        truth = np.array([c.get_potential_energy() for c in copies])
        truth_f = np.array([c.get_forces() for c in copies])
        names = [model.training_subsets[c.info["parent"]] for c in copies]
        for c in copies:
            c.calc = None
        for mode in args.modes:
            with_fstd = mode == "E+F+sE+sF"
            before = load()
            start, cpu = time.perf_counter(), time.process_time()
            pred = model.predict(copies, subsets=names, forces_std=with_fstd)
            label_s, label_cpu_s = time.perf_counter() - start, time.process_time() - cpu
            run = {"copies_file": path, "mode": mode, "copies": len(copies), "label_s": label_s,
                   "label_cpu_s": label_cpu_s, "load_before": before, "load_after": load(),
                   "label_mae_eV": float(np.abs(pred.energy - truth).mean()),
                   "force_mae_eV_A": float(np.abs(np.array(pred.forces) - truth_f).mean()),
                   "mean_std_eV": float(pred.energy_std.mean()),
                   "gated_fraction": float(np.mean(pred.energy_std > 0.05)),
                   "kept_mae_eV": float(np.abs(pred.energy - truth)[pred.energy_std <= 0.05].mean())
                   if np.any(pred.energy_std <= 0.05) else None,
                   "gated_mae_eV": float(np.abs(pred.energy - truth)[pred.energy_std > 0.05].mean())
                   if np.any(pred.energy_std > 0.05) else None,
                   "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            if with_fstd:
                run["mean_force_std_eV_A"] = float(np.concatenate(pred.forces_std).mean())
            out["runs"].append(run)
            print(json.dumps(run), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
