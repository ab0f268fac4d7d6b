"""aenet-gpr 3.7.9 side of the GPR benchmark (run with the SEPARATE aenet-gpr venv).

    python3 -m venv /tmp/aenet-venv
    /tmp/aenet-venv/bin/pip install torch==2.13.0 aenet-gpr==3.7.9 joblib tblite ase
    OMP_NUM_THREADS=1 /tmp/aenet-venv/bin/python benchmarks/gpr_aenet_side.py \
        --train /tmp/gpr_bench/butane_train.extxyz \
        --copies /tmp/gpr_bench/butane_copies_0.055.extxyz --max-copies 500 --json out.json

Uses aenet-gpr's own pipeline as its README does (ReferenceData with Cartesian coordinates,
config_calculator: kernel scale and weight fitted, then eval_batch).  Only the first
--max-copies copies are labelled (labelling time is linear in the copies: batches of 25).
--modes: ``var`` = eval_batch(get_variance=True) (energies, forces, energy std and the std of
every force component: the full predictive covariance of each batch of 25 copies), ``novar`` =
eval_batch(get_variance=False) (energies and forces only).  Prints and writes JSON: fit and
labelling CPU and wall seconds, the load average before and after each, copies labelled,
energy and force-component MAE vs the true labels stored in the copies file, mean energy std
and mean per-atom force std sqrt(sum_xyz var), peak RSS (MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from ase.io import read


def load() -> list[float]:
    return [float(x) for x in open("/proc/loadavg").read().split()[:3]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--copies", nargs="+", required=True)
    parser.add_argument("--max-copies", type=int, default=None)
    parser.add_argument("--modes", nargs="+", default=["var"], choices=["var", "novar"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch
    from aenet_gpr.util.reference_data import ReferenceData

    torch.set_num_threads(1)
    train = read(args.train, index=":")
    fit_load = load()
    start, cpu = time.perf_counter(), time.process_time()
    data = ReferenceData(structure_files=train, file_format="ase")
    data.config_calculator()
    out = {"code": "aenet-gpr 3.7.9", "train": len(train), "fit_s": time.perf_counter() - start,
           "fit_cpu_s": time.process_time() - cpu, "fit_load_before": fit_load, "fit_load_after": load(),
           "hyper": {"scale": float(data.calculator.scale), "weight": float(data.calculator.weight)},
           "fit_peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "runs": []}
    print(json.dumps(out), flush=True)
    for path in args.copies:
        copies = read(path, index=":")[: args.max_copies]
        truth = np.array([c.get_potential_energy() for c in copies])
        truth_f = np.array([c.get_forces() for c in copies])
        for mode in args.modes:
            before = load()
            start, cpu = time.perf_counter(), time.process_time()
            energy, forces, unc_e, unc_f = data.calculator.eval_batch(eval_images=copies,
                                                                       get_variance=mode == "var")
            label_s, label_cpu_s = time.perf_counter() - start, time.process_time() - cpu
            energy = energy.cpu().detach().numpy().reshape(-1)
            forces = forces.cpu().detach().numpy().reshape(truth_f.shape)
            run = {"copies_file": path, "mode": mode, "copies": len(copies), "label_s": label_s,
                   "label_cpu_s": label_cpu_s, "load_before": before, "load_after": load(),
                   "label_mae_eV": float(np.abs(energy - truth).mean()),
                   "force_mae_eV_A": float(np.abs(forces - truth_f).mean()),
                   "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            if mode == "var":
                # eval_batch returns the energy std divided by the kernel weight; ×weight gives eV
                returned = np.asarray(unc_e.cpu().detach())
                run["mean_std_returned"] = float(returned.mean())
                run["mean_std_eV"] = float(returned.mean() * float(data.calculator.weight))
                unc_f = unc_f.cpu().detach().numpy().reshape(truth_f.shape)
                run["mean_force_std_eV_A"] = float(np.sqrt((unc_f ** 2).sum(-1)).mean())
            out["runs"].append(run)
            print(json.dumps(run), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
