"""Seed 004 (Yeu et al. 2025), Fig. 2: the H₂ Lennard-Jones dimer with four training methods.

ASE ``LennardJones(epsilon=1, sigma=1, rc=3)`` (alearn's ``lj`` plugin), the two atoms at ±d/2
on x; 7 training bond lengths evenly in [1, 2] Å, 200 test bond lengths evenly in
[0.95, 2.05] Å.  Committees of 10 networks N-5-5-1 tanh (radial Chebyshev order 10, Rc 8 Å,
no angular terms), AdamW (lr 1e-4, weight decay 1e-3, as in the paper), full batch, the same
epoch budget for every arm and the weights of the epoch with the lowest loss on the arm's own
training rows (7 points leave nothing to hold out).  Arms:

* ``energy``     — the 7 energies;
* ``taylor δ``   — + 14 rows at d ± δ labelled by the first-order Taylor expansion
  (``alearn.augment.taylor.taylor_copies``);
* ``gpr δ``      — + the same 14 structures labelled by alearn's ``LocalGPR`` fitted on the 7
  energies and forces (inverse-distance fingerprint, ML-II hyperparameters; the paper used
  Cartesian coordinates and hyperparameters tuned on the test points);
* ``direct``     — the 7 energies and forces, force weight α = 0.3.

δ ∈ {0.003, 0.008, 0.013, 0.021, 0.034, 0.055} Å (the paper's range).  The same budget does not
converge every arm (direct force training is far from its minimum after 20 000 AdamW epochs), so
four arms are also trained by full-batch L-BFGS for 500 epochs (≤ 20 iterations each; one run per
committee), to convergence: ``energy``, ``direct``, ``taylor 0.008``, ``gpr 0.055`` + `` L-BFGS``.  Reported per committee:
MAE of the committee-mean energy (meV) and bond force −dE/dd (eV/Å) on the 200 test points, and
the mean committee standard deviation (MSD) of both; mean ± sd over ``--seeds`` committees.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed004_h2.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DELTAS = (0.003, 0.008, 0.013, 0.021, 0.034, 0.055)
LBFGS_EPOCHS = 500
PAPER = {"energy": (105, 3.10, 22, 0.52), "direct": (23, 1.22, 9, 0.30),
         "gpr 0.055": (3, 0.21, 2, 0.08)}   # E MAE meV, F MAE eV/Å, E MSD meV, F MSD eV/Å


def h2(d: float) -> Atoms:
    return Atoms("H2", positions=[[-d / 2, 0, 0], [d / 2, 0, 0]])


def reference():
    from alearn_calculators.analytic import LennardJonesCalculator

    return LennardJonesCalculator(LennardJonesCalculator.Params(sigma_A=1.0, epsilon_eV=1.0, cutoff_A=3.0))


def bond_moves(delta: float) -> np.ndarray:
    """Two displacements of atom 1 along the bond: d + δ and d − δ."""
    moves = np.zeros((2, 2, 3))
    moves[0, 1, 0], moves[1, 1, 0] = delta, -delta
    return moves


def gpr_rows(train: list, delta: float, gp) -> list:
    """The bond copies of every training structure labelled with the GP mean."""
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    copies, parents = [], []
    for k, s in enumerate(train):
        for move in bond_moves(delta):
            atoms = s.atoms.copy()
            atoms.positions = atoms.positions + move
            copies.append(atoms)
            parents.append(k)
    pred = gp.predict(copies, subsets=[gp.training_subsets[k] for k in parents])
    return [LabelledStructure(a, Labels(float(e)), Provenance(Source.GPR, parent=train[k].id, std=float(s)))
            for a, k, e, s in zip(copies, parents, pred.energy, pred.energy_std)]


def rows_for(arm: str, train: list, gp) -> tuple[list, float]:
    from alearn.augment.taylor import taylor_copies

    if arm == "energy":
        return train, 0.0
    if arm == "direct":
        return train, 0.3
    method, delta = arm.split()
    if method == "taylor":
        return train + [c for s in train for c in taylor_copies(s, bond_moves(float(delta)))], 0.0
    return train + gpr_rows(train, float(delta), gp), 0.0


def one(arm: str, seeds: int, train: list, test: list, gp, epochs: int) -> dict:
    """``seeds`` committees of 10 trained side by side (one AdamW run of 10·seeds members on
    the full batch: each member's optimisation is independent), scored separately."""
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig

    lbfgs = arm.endswith(" L-BFGS")
    rows, alpha = rows_for(arm.removesuffix(" L-BFGS"), train, gp)
    desc = DescriptorConfig(radial_cutoff_A=8.0, angular_cutoff_A=0.0, radial_order=10, angular_order=0)
    if lbfgs:   # one run per committee: a line search couples the members of one run
        cfg = TrainConfig(epochs=LBFGS_EPOCHS, force_weight=alpha, optimizer="lbfgs", learning_rate=1.0,
                          patience=0, validation_fraction=0.0)
        runs = [common.fit(rows, [], desc, CommitteeConfig(members=10, hidden=(5, 5), activation="tanh"), cfg, s)
                for s in range(seeds)]
        fitted = common.Fitted(runs[0].model, runs[-1].report, sum(r.cpu_s for r in runs), sum(r.wall_s for r in runs))
        committees = [r.model for r in runs]
    else:
        model_cfg = CommitteeConfig(members=10 * seeds, hidden=(5, 5), activation="tanh")
        cfg = TrainConfig(epochs=epochs, force_weight=alpha, optimizer="adamw", learning_rate=1e-4,
                          weight_decay=1e-3, batch_size=len(rows), patience=0, validation_fraction=0.0)
        fitted = common.fit(rows, [], desc, model_cfg, cfg, 0)
        committees = [common.members(fitted.model, range(10 * s, 10 * s + 10)) for s in range(seeds)]
    ref_e = np.array([s.labels.energy for s in test])
    ref_f = np.array([s.labels.forces[1, 0] for s in test])
    label_err = [abs(r.labels.energy - reference().compute(r.atoms).energy)
                 for r in rows if r.provenance.source.value != "reference"]
    out = []
    for seed, committee in enumerate(committees):
        pred = committee.predict([s.atoms for s in test])
        force = np.array([f[1, 0] for f in pred.forces])
        out.append({"seed": seed, "energy_mae_meV": 1e3 * float(np.abs(pred.energy - ref_e).mean()),
                    "force_mae_eV_A": float(np.abs(force - ref_f).mean()),
                    "energy_msd_meV": 1e3 * float(pred.energy_std.mean()),
                    "force_msd_eV_A": float(np.mean([f[1] for f in pred.forces_std])),
                    "energy_curve": pred.energy.tolist(), "force_curve": force.tolist()})
    return {"arm": arm, "rows": len(rows), "committees": out,
            "synthetic_label_mae_meV": 1e3 * float(np.mean(label_err)) if label_err else None,
            "optimiser": "lbfgs" if lbfgs else "adamw",
            "epochs": fitted.report.epochs, "final_train_loss": fitted.report.history[-1]["train_loss"],
            "cpu_s": fitted.cpu_s, "wall_s": fitted.wall_s}


def arms() -> list[str]:
    adamw = ["energy", "direct"] + [f"{m} {d}" for m in ("taylor", "gpr") for d in DELTAS]
    return adamw + [f"{a} L-BFGS" for a in ("energy", "direct", "taylor 0.008", "gpr 0.055")]


def summarise(study: common.Study) -> str:
    rows = []
    for arm in arms():
        run = next((r for r in study.runs if r.get("arm") == arm), None)
        if run is None:
            continue
        runs = run["committees"]
        get = lambda key: [r[key] for r in runs]  # noqa: E731
        study.summary[arm] = {k: common.mean_sd(get(k)) for k in (
            "energy_mae_meV", "force_mae_eV_A", "energy_msd_meV", "force_msd_eV_A")}
        paper = PAPER.get(arm)
        label = "—" if run["synthetic_label_mae_meV"] is None else f"{run['synthetic_label_mae_meV']:.3g}"
        rows.append([arm, run["rows"], len(runs), common.pm(get("energy_mae_meV"), 1),
                     common.pm(get("force_mae_eV_A"), 3), common.pm(get("energy_msd_meV"), 1),
                     common.pm(get("force_msd_eV_A"), 3), label, f"{run['final_train_loss']:.1e}",
                     "—" if paper is None else f"{paper[0]} / {paper[1]} / {paper[2]} / {paper[3]}"])
    gp = next((r for r in study.runs if r.get("key") == "gp"), None)
    text = common.table(["arm", "rows", "committees", "E MAE (meV)", "F MAE (eV/Å)", "E MSD (meV)",
                         "F MSD (eV/Å)", "synthetic-label MAE (meV)", "final training loss",
                         "paper E MAE / F MAE / E MSD / F MSD"], rows)
    cpu = sum(r["cpu_s"] for r in study.runs if "cpu_s" in r)
    text += f"\n\nTraining CPU time, all arms: {cpu:.0f} s."
    if gp is not None:
        text += (f"\n\nThe GP itself on the 200 test points: E MAE {gp['energy_mae_meV']:.3f} meV, "
                 f"F MAE {gp['force_mae_eV_A']:.4f} eV/Å (fit {gp['fit_cpu_s']:.1f} CPU s; "
                 f"hyperparameters {gp['hyper']}).")
    return text + ("\nmean ± sd over committees of 10 networks (different initial weights; the committees of "
                   "one arm are trained side by side in one full-batch AdamW run and scored separately); "
                   "MSD = mean committee std.\n")


def figure(study: common.Study, test_d: np.ndarray, test: list, train_d: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = {"energy": "energy", "direct": "direct"}
    for method in ("taylor", "gpr"):
        scored = [(study.summary[a]["energy_mae_meV"][0], a) for a in study.summary if a.startswith(method)]
        if scored:
            best[method] = min(scored)[1]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ref_e = np.array([s.labels.energy for s in test])
    ref_f = np.array([s.labels.forces[1, 0] for s in test])
    for (name, arm), colour in zip(best.items(), ("C3", "C0", "C2", "C1")):
        run = next((r for r in study.runs if r.get("arm") == arm), None)
        if run is None:
            continue
        for ax, key, ref in ((axes[0, 0], "energy_curve", ref_e), (axes[1, 0], "force_curve", ref_f)):
            ax.plot(test_d, run["committees"][0][key], color=colour, label=f"{arm} (committee 0 mean)")
            ax.plot(test_d, ref, "k--", lw=1)
    for ax, key in ((axes[0, 1], "energy_mae_meV"), (axes[1, 1], "force_mae_eV_A")):
        for method, colour in (("taylor", "C2"), ("gpr", "C1")):
            m = np.array([study.summary.get(f"{method} {d}", {}).get(key, (np.nan, np.nan)) for d in DELTAS])
            ax.errorbar(DELTAS, m[:, 0], yerr=m[:, 1], color=colour, marker="o", capsize=3, label=method)
        for arm, colour in (("energy", "C3"), ("direct", "C0")):
            if arm in study.summary:
                ax.axhline(study.summary[arm][key][0], color=colour, ls="--", label=arm)
        ax.set_xlabel("δ (Å)")
        ax.set_yscale("log")
    axes[0, 0].plot(train_d, np.interp(train_d, test_d, ref_e), "ko", mfc="none", label="training")
    axes[0, 0].set_ylabel("energy (eV)")
    axes[1, 0].set_ylabel("bond force (eV/Å)")
    axes[1, 0].set_xlabel("d (Å)")
    axes[0, 1].set_ylabel("energy MAE (meV)")
    axes[1, 1].set_ylabel("force MAE (eV/Å)")
    axes[0, 0].legend(fontsize=7)
    axes[0, 1].legend(fontsize=7)
    fig.suptitle("H₂ LJ dimer (seed 004 Fig. 2), committees of 10")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    import time

    from alearn.config.gpr import GprConfig
    from alearn.models.gpr import LocalGPR

    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20000)
    args = p.parse_args()
    common.threads()
    study = common.Study("seed004_h2", args.out, vars(args) | {"deltas_A": DELTAS}, args.resume)
    ref = reference()
    train_d, test_d = np.linspace(1.0, 2.0, 7), np.linspace(0.95, 2.05, 200)
    train, _ = common.label([h2(d) for d in train_d], ref)
    test, _ = common.label([h2(d) for d in test_d], ref)
    cpu = time.process_time()
    gp = LocalGPR.fit(train, GprConfig(), seed=0)
    fit_cpu = time.process_time() - cpu

    def gp_errors() -> dict:
        pred = gp.predict([s.atoms for s in test])
        return {"energy_mae_meV": 1e3 * float(np.abs(pred.energy - [s.labels.energy for s in test]).mean()),
                "force_mae_eV_A": float(np.abs(np.array([f[1, 0] for f in pred.forces])
                                               - [s.labels.forces[1, 0] for s in test]).mean()),
                "fit_cpu_s": fit_cpu, "hyper": str(gp.reports()[0].hyper)}

    study.run("gp", gp_errors)
    for arm in arms():
        study.run(arm, lambda: one(arm, args.seeds, train, test, gp, args.epochs))
        study.save(summarise(study))
    figure(study, test_d, test, train_d)
    study.save(summarise(study))


if __name__ == "__main__":
    main()
