"""Seed 004 (Yeu et al. 2025), Fig. 7 on a condensed phase: memory and time per epoch of GPR-ANN
vs direct force training at three descriptor cutoffs, with every one-off cost.

Data: periodic fcc Cu, a 3×3×3 cubic cell (108 atoms, a = 3.61 Å), EMT (ASE; alearn's ``emt``
plugin for the labels).  ``--frames`` training frames of EMT Langevin MD at 600 K (2 fs, friction
0.02/fs, 1 ps equilibration, a frame every 50 steps; positions not wrapped, so the non-periodic
inverse-distance fingerprint of the GP stays continuous along the trajectory).

Arms, in a fresh process each, per (radial, angular) cutoff (6.5/4, 8.5/6, 10.5/8 Å, the paper's):

* ``direct`` — the frames' energies and all forces, α = 0.3, batch ``--batch-direct`` (32: the
  paper's);
* ``gpr``    — the frames + M copies of each (Gaussian std δ per component, net translation
  removed), labelled by alearn's ``LocalGPR`` fitted on the frames' energies and forces
  (inverse distances, ML-II; its default subset budget of 3 000 observations splits the frames
  into local GPs, each copy is predicted by its parent's GP — the paper's "separate local GPR
  models" per data subset), energy-only training, batch 256 (the paper's).  δ = 0.034 Å (the
  paper's Fig. 7 setting); M ∈ ``--multiples`` (16 and the paper's 36; a run whose pair/triplet lists alone would exceed ``--max-lists-GiB`` is skipped and listed).

Networks 36-10-10-1 tanh (Chebyshev orders 12/4), committee of ``--members``, AdamW lr 1e-3.
Measured per arm: process CPU seconds of every epoch (the mean over epochs 2..E is the time per
epoch; an alearn epoch includes its score of the training rows, with forces for ``direct``),
the first epoch including the preparation (pair/triplet lists and descriptors of every row), the
peak RSS of the training (VmHWM reset before it), and for ``gpr`` the GP fit and the copy
labelling.  Training stops after E epochs (alearn's end-of-training evaluation is not timed).
The synthetic labels are checked against EMT on every copy (not part of the cost).
Break-even: the epoch count at which GPR-ANN's extra one-off cost is paid back by its lower
time per epoch (where it is lower).

    OMP_NUM_THREADS=1 /work/helpers/heavy --exclusive --label papersb-cond -- \\
        .venv/bin/python benchmarks/papers/seed004_condensed_cost.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import seed004_ec_dimers as ec  # noqa: E402  (moves_for, synthetic, the paper's network settings)

A_CU, REPEAT = 3.61, 3
CUTOFFS = ((6.5, 4.0), (8.5, 6.0), (10.5, 8.0))
DELTA = 0.034
TEMPERATURE_K = 600.0


# --------------------------------------------------------------------------- data
def crystal():
    from ase.build import bulk

    return bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(REPEAT)


def frames(n: int, seed: int = 0) -> list:
    """``n`` EMT-labelled frames of Langevin MD of the 108-atom cell (cached)."""
    def make():
        from ase.calculators.emt import EMT

        from alearn_calculators.analytic import EmtCalculator

        atoms = crystal()
        atoms.calc = EMT()
        raw = common.langevin_frames(atoms, n, temperature_K=TEMPERATURE_K, timestep_fs=2.0,
                                     friction_per_fs=0.02, equilibrate=500, stride=50, seed=seed)
        return common.label(raw, EmtCalculator(EmtCalculator.Params()), stress=False)[0]

    return common.cached(common.CACHE / "seed004_cu" / f"frames_{n}_{TEMPERATURE_K:g}_{seed}.extxyz", make)


def gpr_config():
    """alearn's defaults (local subsets of ≤ 3 000 observations, ML-II) with the energy noise
    fixed at 1 meV as in the dimer study (EMT energies are noise-free; see seed004_ec_dimers)."""
    from alearn.config.gpr import GprConfig

    return GprConfig(energy_noise_eV=1e-3)


def neighbours(atoms, rc: float, ra: float) -> dict:
    """Pairs and triplets per atom, and the bytes alearn's ``Topology`` holds for one structure."""
    from alearn.descriptors.chebyshev import ChebyshevSpec, topology

    topo = topology(atoms, ChebyshevSpec(("Cu",), rc, ra, 12, 4))
    n = len(atoms)
    return {"pairs_per_atom": len(topo.i) / n, "triplets_per_atom": len(topo.trip_a) / n,
            "topology_MiB_per_structure": sum(x.nbytes for x in (topo.i, topo.j, topo.shifts, topo.trip_a,
                                                                  topo.trip_b)) / 2**20}


# --------------------------------------------------------------------------- one arm
def _peak_rss_MiB() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Stop(Exception):
    """Raised from the progress callback after the last timed epoch."""


def cost_one(method: str, rc: float, ra: float, multiple: int, args) -> dict:
    """One fresh process: every one-off cost and the time per epoch of ``method`` at (rc, ra)."""
    from alearn.models.gpr import LocalGPR

    common.threads()
    train = frames(args.frames)
    one_off: dict = {}
    extra: dict = {}
    rss_start = _peak_rss_MiB()
    if method == "gpr":
        cpu = time.process_time()
        gp = LocalGPR.fit(train, gpr_config(), seed=0)
        one_off["gpr_fit_cpu_s"] = time.process_time() - cpu
        moves = ec.moves_for(train, DELTA, multiple, 0)
        cpu = time.process_time()
        synth = ec.synthetic("gpr", train, moves, gp, chunk=16)
        one_off["copy_labelling_cpu_s"] = time.process_time() - cpu
        extra["gp_subsets"] = len(gp.subsets)
        extra["gp_hyper"] = [str(r.hyper) for r in gp.reports()]
        del gp
        rows = train + synth
    else:
        rows = train
    rss_before_training = _peak_rss_MiB()
    try:   # reset the peak RSS so that the training's own peak is measured
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    desc, model, cfg = ec.configs("direct" if method == "direct" else f"gpr {DELTA:g} {multiple}",
                                  args.epochs, 1e-3, (rc, ra))
    model = replace(model, members=args.members)
    cfg = replace(cfg, batch_size=args.batch_direct if method == "direct" else 256)
    stamps: list[float] = []

    def progress(epoch: int, record: dict) -> None:
        stamps.append(time.process_time())
        if len(stamps) >= args.epochs:
            raise _Stop

    start = time.process_time()
    try:
        common.fit(rows, [], desc, model, cfg, 0, progress=progress)
    except _Stop:
        pass
    peak = _peak_rss_MiB()
    per_epoch = np.diff(stamps)
    first = stamps[0] - start
    one_off["preparation_cpu_s"] = first - float(per_epoch.mean())   # first epoch minus one epoch
    return {"method": method, "multiple": multiple, "radial_cutoff_A": rc, "angular_cutoff_A": ra, "rows": len(rows),
            "atoms_per_epoch": sum(len(r.atoms) for r in rows), "batch": cfg.batch_size,
            "members": args.members, "epochs_timed": len(per_epoch),
            "cpu_s_per_epoch": float(per_epoch.mean()), "cpu_s_per_epoch_sd": float(per_epoch.std(ddof=1))
            if len(per_epoch) > 1 else 0.0, "first_epoch_cpu_s": first, "one_off": one_off,
            "one_off_cpu_s": float(sum(one_off.values())), "peak_rss_training_MiB": peak,
            "peak_rss_reset": reset, "peak_rss_before_training_MiB": rss_before_training,
            "rss_at_start_MiB": rss_start, **neighbours(train[0].atoms, rc, ra), **extra}


def label_check(args, multiple: int) -> dict:
    """MAE of the GPR labels of all copies vs EMT (meV per cell and meV/atom); not timed."""
    from alearn.models.gpr import LocalGPR
    from alearn_calculators.analytic import EmtCalculator

    common.threads()
    train = frames(args.frames)
    gp = LocalGPR.fit(train, gpr_config(), seed=0)
    moves = ec.moves_for(train, DELTA, multiple, 0)
    synth = ec.synthetic("gpr", train, moves, gp, chunk=16)
    truth, _ = common.label([s.atoms for s in synth], EmtCalculator(EmtCalculator.Params()), stress=False)
    err = np.array([s.labels.energy - t.labels.energy for s, t in zip(synth, truth)])
    taylor = ec.synthetic("taylor", train, moves, None)
    err_t = np.array([s.labels.energy - t.labels.energy for s, t in zip(taylor, truth)])
    parent = np.repeat([t.labels.energy for t in train], multiple)
    shift = np.array([t.labels.energy for t in truth]) - parent
    return {"multiple": multiple, "label_mae_meV": 1e3 * float(np.abs(err).mean()), "label_max_meV": 1e3 * float(np.abs(err).max()),
            "taylor_label_mae_meV": 1e3 * float(np.abs(err_t).mean()),
            "copy_minus_parent_mean_meV": 1e3 * float(shift.mean()),
            "copy_minus_parent_sd_meV": 1e3 * float(shift.std()), "copies": len(synth),
            "gp_std_mean_meV": 1e3 * float(np.mean([s.provenance.std for s in synth]))}


# --------------------------------------------------------------------------- report
def _arm(r: dict) -> str:
    return "direct" if r["method"] == "direct" else f"GPR-ANN M={r['multiple']}"


def summarise(study: common.Study) -> str:
    cost = [r for r in study.runs if r.get("key", "").startswith("cost ")]
    cost.sort(key=lambda r: (r["radial_cutoff_A"], r["method"] != "direct", r["multiple"]))
    rows = []
    for r in cost:
        off = r["one_off"]
        rows.append([f"{r['radial_cutoff_A']:g} / {r['angular_cutoff_A']:g}", _arm(r), r["rows"], r["batch"],
                     f"{r['pairs_per_atom']:.0f} / {r['triplets_per_atom']:.0f}", f"{r['cpu_s_per_epoch']:.3f}",
                     f"{off.get('preparation_cpu_s', 0):.1f}", f"{off.get('gpr_fit_cpu_s', 0):.1f}",
                     f"{off.get('copy_labelling_cpu_s', 0):.1f}", f"{r['peak_rss_training_MiB']:.0f}",
                     f"{r['topology_MiB_per_structure'] * r['rows']:.0f}", f"{r['load_before']['load_1_5_15'][0]:.1f}"])
    text = common.table(["Rc / Ra (Å)", "arm", "rows", "batch", "pairs / triplets per atom", "CPU s / epoch",
                         "preparation CPU s", "GP fit CPU s", "copy labelling CPU s", "peak RSS training (MiB)",
                         "pair+triplet lists held (MiB)", "1-min load"], rows)
    skipped = [r for r in study.runs if r.get("key", "").startswith("skipped ")]
    if skipped:
        text += "\n\nNot run (shared 23 GiB machine): " + "; ".join(
            f"GPR-ANN M={r['multiple']} at {r['radial_cutoff_A']:g} Å ({r['rows']} rows: {r['why']})" for r in skipped) + "."
    pairs = []
    for d in (r for r in cost if r["method"] == "direct"):
        for g in (r for r in cost if r["method"] == "gpr" and r["radial_cutoff_A"] == d["radial_cutoff_A"]):
            saved = d["cpu_s_per_epoch"] - g["cpu_s_per_epoch"]
            extra = g["one_off_cpu_s"] - d["one_off_cpu_s"]
            key = f"{d['radial_cutoff_A']:g} M{g['multiple']}"
            study.summary[key] = {"direct_s_per_epoch": d["cpu_s_per_epoch"], "gpr_s_per_epoch": g["cpu_s_per_epoch"],
                                  "extra_one_off_s": extra, "break_even_epochs": extra / saved if saved > 0 else None,
                                  "direct_peak_MiB": d["peak_rss_training_MiB"], "gpr_peak_MiB": g["peak_rss_training_MiB"]}
            v = study.summary[key]
            pairs.append([f"{d['radial_cutoff_A']:g} / {d['angular_cutoff_A']:g}", g["multiple"],
                          f"{v['direct_s_per_epoch']:.3f} / {v['gpr_s_per_epoch']:.3f}",
                          f"{v['direct_s_per_epoch'] / v['gpr_s_per_epoch']:.1f}", f"{v['extra_one_off_s']:.1f}",
                          "never" if v["break_even_epochs"] is None else f"{v['break_even_epochs']:.0f}",
                          f"{v['direct_peak_MiB']:.0f} / {v['gpr_peak_MiB']:.0f}"])
    if pairs:
        text += "\n\n" + common.table(["Rc / Ra (Å)", "M", "direct / GPR-ANN CPU s per epoch", "ratio",
                                        "GPR-ANN extra one-off CPU s", "break-even epochs",
                                        "direct / GPR-ANN peak RSS (MiB)"], pairs)
    for check in (r for r in study.runs if r.get("key", "").startswith("labels ")):
        text += (f"\n\nM = {check['multiple']}: GPR labels of all {check['copies']} copies vs EMT: MAE "
                 f"{check['label_mae_meV']:.0f} meV per cell (max {check['label_max_meV']:.0f}; first-order Taylor on the "
                 f"same copies {check['taylor_label_mae_meV']:.0f}); the copies' EMT energies differ by "
                 f"{check['copy_minus_parent_mean_meV']:+.0f} ± {check['copy_minus_parent_sd_meV']:.0f} meV (mean ± sd) from "
                 f"their parents'; mean GP energy std {check['gp_std_mean_meV']:.0f} meV.")
    members = cost[0]["members"] if cost else "?"
    return text + (f"\n\nOne seed, committee of {members}, process CPU seconds (one thread), a fresh process per row; "
                   "CPU s / epoch = mean over epochs 2..E; preparation = first epoch − one epoch (pair/triplet lists, "
                   "descriptors, normalisation); 'pair+triplet lists held' = the bytes of alearn's Topology of one "
                   "structure × rows (kept for every row, also for energy-only rows).\n")


def figure(study: common.Study) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cost = [r for r in study.runs if r.get("key", "").startswith("cost ")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for (method, multiple), colour in zip(sorted({(r["method"], r["multiple"]) for r in cost}), ("C0", "C1", "C3", "C4")):
        label = "direct force training" if method == "direct" else f"GPR-ANN M={multiple}"
        rs = sorted((r for r in cost if (r["method"], r["multiple"]) == (method, multiple)), key=lambda r: r["radial_cutoff_A"])
        x = [r["radial_cutoff_A"] for r in rs]
        axes[0].plot(x, [r["peak_rss_training_MiB"] / 1024 for r in rs], "o-", color=colour, label=label)
        axes[1].plot(x, [r["cpu_s_per_epoch"] for r in rs], "o-", color=colour, label=label)
    axes[0].set_ylabel("peak RSS in training (GiB)")
    axes[1].set_ylabel("CPU s per epoch")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("radial cutoff (Å)")
    axes[0].legend()
    fig.suptitle("Bulk Cu (108 atoms, EMT): GPR-ANN vs direct force training (seed 004 Fig. 7)")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--frames", type=int, default=10, help="training frames (108 atoms each)")
    p.add_argument("--multiples", type=int, nargs="+", default=[16, 36], help="copies per frame (M) to run")
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--epochs", type=int, default=4, help="epochs run (the first includes the preparation)")
    p.add_argument("--batch-direct", type=int, default=32)
    p.add_argument("--cutoffs", type=float, nargs="+", default=None, help="radial cutoffs to run (default: all three)")
    p.add_argument("--max-lists-GiB", type=float, default=6.0,
                   help="skip a GPR-ANN run whose pair/triplet lists alone would exceed this (shared machine)")
    p.add_argument("--no-check", action="store_true", help="skip the label check against EMT")
    p.add_argument("--one", nargs=4, default=None, help=ec.argparse_suppress())
    args = p.parse_args()
    common.threads()
    if args.one:
        method, rc, ra, multiple = args.one
        print(json.dumps(cost_one(method, float(rc), float(ra), int(multiple), args)))
        return
    study = common.Study("seed004_condensed_cost", args.out, vars(args) | {"delta_A": DELTA, "cutoffs": CUTOFFS,
                                                                           "temperature_K": TEMPERATURE_K}, args.resume)
    train = frames(args.frames)         # made (and cached) before any timing
    for rc, ra in CUTOFFS:
        if args.cutoffs and rc not in args.cutoffs:
            continue
        lists = neighbours(train[0].atoms, rc, ra)["topology_MiB_per_structure"] / 1024
        for method, multiple in [("direct", 0)] + [("gpr", m) for m in args.multiples]:
            rows = len(train) * (1 + multiple)
            if method == "gpr" and rows * lists > args.max_lists_GiB:
                study.run(f"skipped gpr {multiple} {rc:g}", lambda: {
                    "method": "gpr", "multiple": multiple, "radial_cutoff_A": rc, "rows": rows,
                    "lists_GiB": rows * lists, "why": f"pair/triplet lists alone {rows * lists:.1f} GiB"})
                continue

            def child() -> dict:
                cmd = [sys.executable, __file__, "--frames", str(args.frames), "--members", str(args.members),
                       "--epochs", str(args.epochs), "--batch-direct", str(args.batch_direct),
                       "--one", method, str(rc), str(ra), str(multiple)]
                out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
                if out.returncode != 0:
                    raise RuntimeError(out.stderr[-2000:])
                return json.loads(out.stdout.strip().splitlines()[-1])

            study.run(f"cost {method} {multiple} {rc:g}", child)
            study.save(summarise(study))
    if not args.no_check:
        for multiple in args.multiples:
            study.run(f"labels {multiple}", lambda: label_check(args, multiple))
    figure(study)
    study.save(summarise(study))


if __name__ == "__main__":
    main()
