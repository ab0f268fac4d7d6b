"""aenet-gpr 3.7.9 side of the GPR benchmark (run with the SEPARATE aenet-gpr venv).

    python3 -m venv /tmp/aenet-venv
    /tmp/aenet-venv/bin/pip install torch==2.13.0 aenet-gpr==3.7.9 joblib tblite ase
    OMP_NUM_THREADS=1 /tmp/aenet-venv/bin/python benchmarks/gpr_aenet_side.py \
        --train /tmp/gpr_bench/butane_train.extxyz \
        --copies /tmp/gpr_bench/butane_copies_0.055.extxyz --max-copies 500 --json out.json

Uses aenet-gpr's own pipeline as its README does (ReferenceData with Cartesian coordinates,
config_calculator: kernel scale and weight fitted, then eval_batch with variance).  Only the
first --max-copies copies are labelled (labelling time is linear in the copies: batches of 25).
Prints and writes JSON: fit_s, label_s, copies labelled, label MAE (eV) vs the true energies
stored in the copies file, peak RSS (MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from ase.io import read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--copies", nargs="+", required=True)
    parser.add_argument("--max-copies", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch
    from aenet_gpr.util.reference_data import ReferenceData

    torch.set_num_threads(1)
    train = read(args.train, index=":")
    start, cpu = time.perf_counter(), time.process_time()
    data = ReferenceData(structure_files=train, file_format="ase")
    data.config_calculator()
    out = {"code": "aenet-gpr 3.7.9", "train": len(train), "fit_s": time.perf_counter() - start,
           "fit_cpu_s": time.process_time() - cpu,
           "runs": []}
    print(json.dumps(out), flush=True)
    for path in args.copies:
        copies = read(path, index=":")[: args.max_copies]
        truth = np.array([c.get_potential_energy() for c in copies])
        start, cpu = time.perf_counter(), time.process_time()
        truth_f = np.array([c.get_forces() for c in copies]).reshape(len(copies), -1)
        energy, forces, unc_e, _ = data.calculator.eval_batch(eval_images=copies, get_variance=True)
        label_s, label_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        energy = energy.cpu().detach().numpy().reshape(-1)
        run = {"copies_file": path, "copies": len(copies), "label_s": label_s, "label_cpu_s": label_cpu_s,
               "label_mae_eV": float(np.abs(energy - truth).mean()),
               "force_mae_eV_A": float(np.abs(forces.cpu().detach().numpy().reshape(len(copies), -1)
                                              - truth_f).mean()),
               "mean_std_eV": float(np.asarray(unc_e.cpu().detach()).mean()),
               "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        out["runs"].append(run)
        print(json.dumps(run), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
