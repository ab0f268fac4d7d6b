"""Seed 004 (Yeu et al. 2025), Fig. 3 / S8 / 7: ethylene-carbonate dimers, GFN2-xTB instead of HSE06.

Data: an EC dimer (two (CH₂O)₂CO, 20 atoms) relaxed with GFN2-xTB (tblite), then ``--pool``
copies with every atom displaced at random (Gaussian, std ``--rattle`` Å per component), each
labelled with xTB energy and forces (cached in ``$ALEARN_PAPERS_CACHE``).  Seed s draws its own
split of the pool: 250 training dimers and ``--test`` test dimers, its own synthetic copies and
its own initial weights.

Networks as in the paper: Chebyshev radial/angular order 12/4, cutoffs 6.5/4.0 Å, 36-10-10-1
tanh per element, committees of 10, AdamW (weight decay 1e-3), batch 32 for the arms on the 250
references and 256 for the augmented arms (the paper's); every arm the same number of epochs
(``--epochs``) and the weights of each member's best epoch on its own training loss (no held-out
validation; 250 dimers are all the paper trains on).  Arms:

* ``energy``            — the 250 energies;
* ``direct``            — + all forces, α = 0.3 (the paper's);
* ``direct 10%``        — + 10 % of the force components (chosen once at random), α = 0.3;
* ``taylor δ M``        — + M copies of each training dimer, every atom displaced (Gaussian std δ,
  net translation removed: ``alearn.augment.gpr.displacements``), labelled to first order
  (``alearn.augment.taylor.taylor_copies``);
* ``gpr δ M``           — the same copies labelled by alearn's ``LocalGPR`` fitted on the 250
  energies and forces (inverse distances, ML-II, local subsets ≤ 3000 observations; each copy
  predicted by its parent's subset).  The paper: one full GP, Cartesian coordinates, kernel
  parameters grid-searched on the 750 test dimers.

Scored per committee on the test dimers with the paper's measures (``common.member_errors``):
MAE and mean committee sd (MSD) of the energy, of |F| and of the force direction; the synthetic
labels are checked against xTB on one copy of each of ``--check`` parents.

Cost part (Fig. 7; ``--cost``): per radial/angular cutoff (6.5/4, 8.5/6, 10.5/8 Å), one seed,
one committee of 10, GPR-ANN (δ 0.021 Å, M = 16) vs direct force training: process CPU seconds per
epoch and the peak RSS of the training, in a fresh process each, and every one-off cost — xTB
labels of the synthetic copies are *not* needed, but the GPR fit, the copy labelling, and the
descriptor preparation (epoch 0 of the trainer) are counted.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed004_ec_dimers.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DELTAS = (0.003, 0.021, 0.044)
MULTIPLE = 16
MULTIPLES = (4, 16, 36)
SCAN_DELTA = 0.021
CUTOFFS = ((6.5, 4.0), (8.5, 6.0), (10.5, 8.0))
ALPHA = 0.3
MEMBERS = [10]     # committee size (--members)
MEASURES = ("energy_mae_eV", "energy_msd_eV", "force_norm_mae_eV_A", "force_norm_msd_eV_A",
            "force_angle_mae_deg", "force_angle_msd_deg", "force_mae_eV_A")


# --------------------------------------------------------------------------- data
def ec_monomer():
    """Ethylene carbonate, a planar 5-ring O-C(=O)-O-CH₂-CH₂ guess (relaxed by xTB later)."""
    from ase import Atoms

    radius, ring = 1.21, {"C2": 90, "O1": 162, "C6": 234, "C5": 306, "O4": 18}
    symbols, positions = [], []
    for name, angle in ring.items():
        symbols.append(name[0])
        positions.append([radius * np.cos(np.radians(angle)), radius * np.sin(np.radians(angle)), 0.0])
    symbols.append("O")
    positions.append([0.0, radius + 1.2, 0.0])
    for name in ("C6", "C5"):
        u = np.array([np.cos(np.radians(ring[name])), np.sin(np.radians(ring[name])), 0.0])
        for z in (0.9, -0.9):
            symbols.append("H")
            positions.append(radius * u + 0.55 * u + [0.0, 0.0, z])
    return Atoms(symbols, positions=positions)


def ground_state():
    """The xTB-relaxed EC dimer (one molecule stacked 3.4 Å above the other, then relaxed)."""
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    one = ec_monomer()
    one.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(one, logfile=None).run(fmax=1e-3)
    other = one.copy()
    other.positions += [0.3, 0.2, 3.4]
    dimer = one.copy() + other
    dimer.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(dimer, logfile=None).run(fmax=1e-3, steps=500)
    dimer.calc = None
    return dimer


def pool(n: int, rattle: float) -> list:
    def make():
        base = ground_state()
        rng = np.random.default_rng(12345)
        structures = []
        for _ in range(n):
            atoms = base.copy()
            atoms.positions = atoms.positions + rng.normal(0.0, rattle, atoms.positions.shape)
            structures.append(atoms)
        return common.label(structures, common.xtb_reference())[0]

    return common.cached(common.CACHE / "seed004_ec" / f"pool_{n}_{rattle:g}.extxyz", make)


def split(data: list, seed: int, n_train: int, n_test: int) -> tuple[list, list]:
    order = np.random.default_rng(seed).permutation(len(data))
    return [data[i] for i in order[:n_train]], [data[i] for i in order[n_train:n_train + n_test]]


def moves_for(train: list, delta: float, multiple: int, seed: int) -> list[np.ndarray]:
    """The same displacements for Taylor and GPR (per seed, δ and M)."""
    from alearn.augment.gpr import displacements

    rng = np.random.default_rng([seed, int(round(delta * 1e4)), multiple])
    return [displacements(s.atoms.positions, delta, multiple, rng, False) for s in train]


def synthetic(method: str, train: list, moves: list, gp, chunk: int = 500) -> list:
    from alearn.augment.taylor import taylor_copies
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    if method == "taylor":
        return [c for s, m in zip(train, moves) for c in taylor_copies(s, m)]
    copies, parents = [], []
    for k, (s, m) in enumerate(zip(train, moves)):
        for move in m:
            atoms = s.atoms.copy()
            atoms.positions = atoms.positions + move
            copies.append(atoms)
            parents.append(k)
    energy, std = [], []
    for start in range(0, len(copies), chunk):    # chunks bound the memory of the cross-covariance
        pred = gp.predict(copies[start:start + chunk], subsets=[gp.training_subsets[k] for k in parents[start:start + chunk]])
        energy.extend(pred.energy)
        std.extend(pred.energy_std)
    return [LabelledStructure(a, Labels(float(e)), Provenance(Source.GPR, parent=train[k].id, std=float(sd)))
            for a, k, e, sd in zip(copies, parents, energy, std)]


def label_errors(train: list, seed: int, gp, check: int) -> dict:
    """MAE (meV) of Taylor and GPR labels vs xTB on the first copy of ``check`` parents, per δ."""
    out = {}
    parents = train[:check]
    for delta in DELTAS:
        moves = [m[:1] for m in moves_for(parents, delta, 1, seed)]
        truth, _ = common.label([c.atoms for c in synthetic("taylor", parents, moves, None)], common.xtb_reference())
        ref = np.array([t.labels.energy for t in truth])
        for method in ("taylor", "gpr"):
            rows = synthetic(method, parents, moves, gp)
            out[f"{method} {delta:g}"] = 1e3 * float(np.abs(np.array([r.labels.energy for r in rows]) - ref).mean())
    return out


def gpr_config():
    """One GP on all 250 dimers (as the paper's full GP): max_rows 16 000 ≥ 250 × 61 observations,
    and a fixed energy noise of 1 meV (xTB energies are noise-free).  With the defaults (subsets
    of ≤ 3 000 observations, fitted noise) ML-II ended, for one subset of seed 0 and for the single
    GP of seed 1, at a degenerate optimum whose energies were ≈ 2 eV off (forces fine)."""
    from alearn.config.gpr import GprConfig

    return GprConfig(max_rows=16000, energy_noise_eV=1e-3)


# --------------------------------------------------------------------------- training
def configs(arm: str, epochs: int, lr: float, cutoffs=(6.5, 4.0)):
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig

    desc = DescriptorConfig(radial_cutoff_A=cutoffs[0], angular_cutoff_A=cutoffs[1], radial_order=12, angular_order=4)
    model = CommitteeConfig(members=MEMBERS[0], hidden=(10, 10), activation="tanh")
    augmented = arm.startswith(("taylor", "gpr"))
    alpha = ALPHA if arm.startswith("direct") else 0.0
    train = TrainConfig(epochs=epochs, force_weight=alpha, force_fraction=0.1 if arm == "direct 10%" else 1.0,
                        optimizer="adamw", learning_rate=lr, weight_decay=1e-3,
                        batch_size=256 if augmented else 32, patience=0, validation_fraction=0.0)
    return desc, model, train


def rows_for(arm: str, train: list, seed: int, gp) -> list:
    if not arm.startswith(("taylor", "gpr")):
        return train
    method, delta, multiple = arm.split()
    return train + synthetic(method, train, moves_for(train, float(delta), int(multiple), seed), gp)


def one(arm: str, seed: int, train: list, test: list, gp, args) -> dict:
    rows = rows_for(arm, train, seed, gp)
    desc, model, cfg = configs(arm, args.epochs, args.lr)
    fitted = common.fit(rows, [], desc, model, cfg, seed)
    scores = common.member_errors(fitted.model, test)
    return {"arm": arm, "seed": seed, "rows": len(rows), **scores, "epochs": fitted.report.epochs,
            "final_train_loss": fitted.report.history[-1]["train_loss"], "cpu_s": fitted.cpu_s,
            "wall_s": fitted.wall_s}


def arms() -> list[str]:
    out = ["energy", "direct", "direct 10%"]
    out += [f"{m} {d:g} {MULTIPLE}" for m in ("taylor", "gpr") for d in DELTAS]
    out += [f"gpr {SCAN_DELTA:g} {m}" for m in MULTIPLES if m != MULTIPLE]
    return out


# --------------------------------------------------------------------------- cost (Fig. 7)
def _peak_rss_MiB() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cost_one(method: str, rc: float, ra: float, args) -> dict:
    """One fresh process: every one-off cost and the time per epoch of ``method`` at (rc, ra)."""
    from alearn.models.gpr import LocalGPR

    common.threads()
    data = pool(args.pool, args.rattle)
    train, _ = split(data, 0, 250, 0)
    base_rss = _peak_rss_MiB()
    one_off = {}
    gp = None
    arm = "direct"
    if method == "gpr":
        # the GP fit and the copy labelling do not depend on the ANN cutoff: done (and timed) in
        # the first child, whose rows and timings later children read from the cache
        arm = f"gpr {SCAN_DELTA:g} {MULTIPLE}"
        cache = common.CACHE / "seed004_ec" / f"cost_rows_{args.pool}_{args.rattle:g}_{SCAN_DELTA:g}_{MULTIPLE}"
        if (cache.with_suffix(".json")).exists():
            synth = common.load_xyz(cache.with_suffix(".extxyz"))
            one_off = json.loads(cache.with_suffix(".json").read_text()) | {"reused_from_first_child": True}
        else:
            cpu = time.process_time()
            gp = LocalGPR.fit(train, gpr_config(), seed=0)
            one_off["gpr_fit_cpu_s"] = time.process_time() - cpu
            cpu = time.process_time()
            synth = synthetic("gpr", train, moves_for(train, SCAN_DELTA, MULTIPLE, 0), gp)
            one_off["copy_labelling_cpu_s"] = time.process_time() - cpu
            del gp
            common.save_xyz(cache.with_suffix(".extxyz"), synth)
            cache.with_suffix(".json").write_text(json.dumps(one_off))
            synth = common.load_xyz(cache.with_suffix(".extxyz"))
        rows = train + synth
    else:
        rows = train
    gpr_rss = _peak_rss_MiB()
    try:   # reset the peak RSS so the training's own peak is measured
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    desc, model, cfg = configs(arm, args.cost_epochs, args.lr, (rc, ra))
    from dataclasses import replace
    if method == "gpr":
        cfg = replace(cfg, batch_size=256)
    stamps: list[float] = []
    peak = [0.0]

    def progress(epoch: int, record: dict) -> None:
        stamps.append(time.process_time())
        peak[0] = max(peak[0], _peak_rss_MiB())

    start = time.process_time()
    fitted = common.fit(rows, [], desc, model, cfg, 0, progress=progress)
    per_epoch = [b - a for a, b in zip(stamps, stamps[1:])]
    one_off["descriptors_and_setup_cpu_s"] = stamps[0] - start       # before the first epoch ends
    return {"method": method, "radial_cutoff_A": rc, "angular_cutoff_A": ra, "rows": len(rows),
            "atoms_per_epoch": sum(len(r.atoms) for r in rows), "epochs_timed": len(per_epoch),
            "cpu_s_per_epoch": float(np.mean(per_epoch)) if per_epoch else float("nan"),
            "first_epoch_cpu_s": stamps[0] - start, "one_off": one_off,
            "one_off_cpu_s": sum(v for k, v in one_off.items() if k != "descriptors_and_setup_cpu_s")
            + (stamps[0] - start) - (float(np.mean(per_epoch)) if per_epoch else 0.0),
            "peak_rss_training_MiB": peak[0], "peak_rss_before_training_MiB": gpr_rss,
            "rss_at_start_MiB": base_rss, "total_train_cpu_s": fitted.cpu_s}


# --------------------------------------------------------------------------- report
def _fmt(values, scale=1.0, digits=1):
    return common.pm([v * scale for v in values], digits)


def summarise(study: common.Study) -> str:
    rows = []
    for arm in arms():
        runs = [r for r in study.runs if r.get("arm") == arm]
        if not runs:
            continue
        get = lambda key: [r[key] for r in runs]  # noqa: E731
        study.summary[arm] = {k: common.mean_sd(get(k)) for k in MEASURES}
        labels = [r["label_mae_meV"].get(" ".join(arm.split()[:2])) for r in study.runs
                  if r.get("key", "").startswith("labels ") and arm.startswith(("taylor", "gpr"))]
        rows.append([arm, runs[0]["rows"], len(runs), _fmt(get("energy_mae_eV"), 1e3), _fmt(get("energy_msd_eV"), 1e3),
                     _fmt(get("force_norm_mae_eV_A"), 1, 3), _fmt(get("force_norm_msd_eV_A"), 1, 3),
                     _fmt(get("force_angle_mae_deg"), 1, 1), _fmt(get("force_angle_msd_deg"), 1, 1),
                     _fmt(get("force_mae_eV_A"), 1, 3), _fmt(labels, 1, 1) if labels else "—",
                     f"{np.mean(get('final_train_loss')):.1e}", f"{np.mean(get('cpu_s')):.0f}"])
    text = common.table(["arm (method δ/Å M)", "rows", "seeds", "E MAE (meV)", "E MSD (meV)", "|F| MAE (eV/Å)",
                         "|F| MSD (eV/Å)", "angle MAE (°)", "angle MSD (°)", "F comp. MAE (eV/Å)",
                         "synthetic-label MAE (meV)", "final train loss", "train CPU s"], rows)
    gps = [r for r in study.runs if r.get("key", "").startswith("gp ")]
    if gps:
        text += (f"\n\nLocalGPR fit on the 250 training dimers: {common.pm([g['fit_cpu_s'] for g in gps], 1)} CPU s, "
                 f"{gps[0]['subsets']} subsets; the GP itself on the test dimers: E MAE "
                 f"{common.pm([1e3 * g['energy_mae_eV'] for g in gps], 1)} meV, F comp. MAE "
                 f"{common.pm([g['force_mae_eV_A'] for g in gps], 3)} eV/Å.")
    cost = [r for r in study.runs if r.get("key", "").startswith("cost ")]
    if cost:
        crow = []
        for r in cost:
            off = r["one_off"]
            crow.append([f"{r['radial_cutoff_A']:g} / {r['angular_cutoff_A']:g}", r["method"], r["rows"],
                         f"{r['cpu_s_per_epoch']:.2f}", f"{off.get('gpr_fit_cpu_s', 0):.1f}",
                         f"{off.get('copy_labelling_cpu_s', 0):.1f}", f"{r['first_epoch_cpu_s']:.1f}",
                         f"{r['peak_rss_training_MiB']:.0f}", f"{r['load_before']['load_1_5_15'][0]:.1f}"])
        text += ("\n\nCost (one seed, committee of 10, fresh process each; CPU s per epoch over epochs 2.."
                 f"{cost[0]['epochs_timed'] + 1}; the first epoch includes descriptor preparation):\n\n")
        text += common.table(["Rc / Ra (Å)", "method", "rows", "CPU s / epoch", "GPR fit CPU s",
                              "copy labelling CPU s", "first epoch (incl. descriptors) CPU s",
                              "peak RSS training (MiB)", "1-min load"], crow)
    return text + ("\n\nmean ± sd over seeds (each: its own 250/test split of the pool, copies and initial "
                   "weights); MAE of the committee mean, MSD = mean sd over the 10 members; |F| = force "
                   "magnitude, angle = force direction error (atoms with |F| > 0.05 eV/Å).\n")


def figure(study: common.Study) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, key, scale, label in ((axes[0], "energy_mae_eV", 1e3, "energy MAE (meV)"),
                                  (axes[1], "force_norm_mae_eV_A", 1, "|F| MAE (eV/Å)"),
                                  (axes[2], "force_angle_mae_deg", 1, "direction MAE (°)")):
        for method, colour in (("taylor", "C2"), ("gpr", "C1")):
            m = np.array([study.summary.get(f"{method} {d:g} {MULTIPLE}", {}).get(key, (np.nan, np.nan)) for d in DELTAS])
            ax.errorbar(DELTAS, m[:, 0] * scale, yerr=m[:, 1] * scale, color=colour, marker="o", capsize=3,
                        label=f"{method} M={MULTIPLE}")
        for arm, colour, ls in (("energy", "C4", "--"), ("direct", "C0", "--"), ("direct 10%", "C9", ":")):
            if arm in study.summary:
                ax.axhline(study.summary[arm][key][0] * scale, color=colour, ls=ls, label=arm)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("δ (Å)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("EC dimers, GFN2-xTB (seed 004 Fig. 3), committees of 10")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    from alearn.models.gpr import LocalGPR

    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--pool", type=int, default=1000)
    p.add_argument("--test", type=int, default=750)
    p.add_argument("--rattle", type=float, default=0.03)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--check", type=int, default=50)
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--arms", nargs="+", default=None, help="a subset of the arms (default: all)")
    p.add_argument("--cost", action="store_true", help="also the cost part (Fig. 7)")
    p.add_argument("--cost-only", action="store_true")
    p.add_argument("--cost-epochs", type=int, default=4)
    p.add_argument("--cost-one", nargs=3, default=None, help=argparse_suppress())
    args = p.parse_args()
    MEMBERS[0] = args.members
    common.threads()
    if args.cost_one:
        print(json.dumps(cost_one(args.cost_one[0], float(args.cost_one[1]), float(args.cost_one[2]), args)))
        return
    study = common.Study("seed004_ec_dimers", args.out, vars(args) | {"deltas_A": DELTAS, "multiple": MULTIPLE,
                                                                       "multiples": MULTIPLES}, args.resume)
    data = pool(args.pool, args.rattle)
    chosen = args.arms or arms()
    if not args.cost_only:
        for seed in range(args.seeds):
            train, test = split(data, seed, 250, args.test)
            gp = None
            if not any(a.startswith("gpr") for a in chosen):   # a run of non-GPR arms only
                for arm in chosen:
                    study.run(f"{arm} | {seed}", lambda: one(arm, seed, train, test, gp, args))
                    study.save(summarise(study))
                continue
            cpu = time.process_time()
            gp = LocalGPR.fit(train, gpr_config(), seed=seed)
            fit_cpu = time.process_time() - cpu

            def gp_scores() -> dict:
                pred = gp.predict([s.atoms for s in test])
                return {"fit_cpu_s": fit_cpu, "subsets": len(gp.subsets),
                        "energy_mae_eV": float(np.abs(pred.energy - [s.labels.energy for s in test]).mean()),
                        "force_mae_eV_A": float(np.abs(np.concatenate(pred.forces)
                                                       - np.concatenate([s.labels.forces for s in test])).mean())}

            study.run(f"gp {seed}", gp_scores)
            study.run(f"labels {seed}", lambda: {"label_mae_meV": label_errors(train, seed, gp, args.check)})
            for arm in chosen:
                study.run(f"{arm} | {seed}", lambda: one(arm, seed, train, test, gp, args))
                study.save(summarise(study))
    if args.cost or args.cost_only:
        for rc, ra in CUTOFFS:
            for method in ("direct", "gpr"):
                def run_child() -> dict:
                    out = subprocess.run([sys.executable, __file__, "--pool", str(args.pool), "--rattle",
                                          str(args.rattle), "--lr", str(args.lr), "--cost-epochs",
                                          str(args.cost_epochs), "--members", str(args.members), "--cost-one", method, str(rc), str(ra)],
                                         capture_output=True, text=True, check=True,
                                         env=dict(os.environ, OMP_NUM_THREADS="1"))
                    return json.loads(out.stdout.strip().splitlines()[-1])
                study.run(f"cost {method} {rc:g}", run_child)
                study.save(summarise(study))
    if not args.cost_only and any(k.startswith(("taylor", "gpr")) for k in study.summary):
        figure(study)      # the δ-scan figure needs a Taylor or GPR arm
    study.save(summarise(study))


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
