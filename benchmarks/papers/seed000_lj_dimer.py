"""Seed 000 (Cooper et al. 2020), Fig. 2: the Lennard-Jones dimer.

V(r) = ε[(r0/r)¹² − 2(r0/r)⁶], ε = 3.607 eV, r0 = 1.54 Å (ASE's LennardJones through alearn's
``lj`` reference plugin, σ = r0/2^(1/6), cutoff 8 Å: the energy is shifted by V(8 Å) =
−3.6e-4 eV, the same for every structure).  Seven training bond lengths evenly from 1.4 to
2.8 Å.  Networks 11-5-5-1 tanh on a radial Chebyshev descriptor (order 10, Rc 4 Å, no angular
terms), L-BFGS, the same epoch budget for every arm and the weights of the epoch with the lowest
loss on the arm's own training rows (no held-out data exist with 7 points).  Arms:

* ``energy``      — the 7 energies;
* ``taylor-bond`` — + 14 Taylor energies at r ± 0.02 Å (the paper's Fig. 2b: one atom moved
  ±δ along the bond; ``alearn.augment.taylor.taylor_copies``);
* ``taylor-A``    — + alearn's strategy A with a = 12 (every single-atom ±δ Cartesian move,
  δ = 0.02 Å: 4 along the bond, 8 perpendicular);
* ``taylor-B``    — + alearn's strategy B with a = 2 (14 rows, δmax = 0.02 Å);
* ``direct``      — the 7 energies and forces, force weight α = 0.5.

Errors on 200 bond lengths evenly in [1.4, 2.8] Å and on the minimum region [1.4, 1.8] Å, the
predicted equilibrium distance and curvature there, each as mean ± sd over ``--seeds`` seeds.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed000_lj_dimer.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

EPS, R0 = 3.607, 1.54
DELTA = 0.02
ARMS = ("energy", "taylor-bond", "taylor-A", "taylor-B", "direct")


def dimer(r: float) -> Atoms:
    return Atoms("C2", positions=[[-r / 2, 0, 0], [r / 2, 0, 0]])


def reference():
    from alearn_calculators.analytic import LennardJonesCalculator

    return LennardJonesCalculator(LennardJonesCalculator.Params(
        sigma_A=R0 / 2 ** (1 / 6), epsilon_eV=EPS, cutoff_A=8.0))


def analytic_curvature() -> float:
    """V''(r0) = 72 ε / r0² (eV/Å²)."""
    return 72 * EPS / R0**2


def rows_for(arm: str, train: list, seed: int) -> tuple[list, float]:
    """Training rows and force weight of one arm."""
    from alearn.augment.taylor import taylor_augment, taylor_copies
    from alearn.config.ann import TaylorConfig

    rng = np.random.default_rng(1000 + seed)
    if arm == "energy":
        return train, 0.0
    if arm == "direct":
        return train, 0.5
    if arm == "taylor-bond":
        moves = np.zeros((2, 2, 3))
        moves[0, 1, 0], moves[1, 1, 0] = DELTA, -DELTA          # atom 1 along +x: r ± δ
        return train + [c for s in train for c in taylor_copies(s, moves)], 0.0
    cfg = TaylorConfig(strategy=arm[-1], multiple=12 if arm == "taylor-A" else 2, delta_A=DELTA,
                       min_force_eV_A=0.0)
    return train + taylor_augment(train, cfg, rng), 0.0


def curve(model, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Committee-mean energy and bond force F(r) = −dE/dr of dimers at r."""
    pred = model.predict([dimer(x) for x in r])
    return pred.energy, np.array([f[1, 0] for f in pred.forces])


def minimum(model) -> tuple[float, float]:
    """Predicted equilibrium distance (grid 1.40–1.80 Å, 1 mÅ) and curvature there (eV/Å²)."""
    grid = np.arange(1.40, 1.80, 0.001)
    energy, _ = curve(model, grid)
    k = int(np.argmin(energy))
    h = 0.005
    r = float(grid[k])
    e3, _ = curve(model, np.array([r - h, r, r + h]))
    return r, float((e3[0] - 2 * e3[1] + e3[2]) / h**2)


def one(arm: str, seed: int, train: list, test_r: np.ndarray, test_e: np.ndarray,
        test_f: np.ndarray, epochs: int) -> dict:
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig

    rows, alpha = rows_for(arm, train, seed)
    desc = DescriptorConfig(radial_cutoff_A=4.0, angular_cutoff_A=0.0, radial_order=10, angular_order=0)
    model_cfg = CommitteeConfig(members=1, hidden=(5, 5), activation="tanh")
    cfg = TrainConfig(epochs=epochs, force_weight=alpha, optimizer="lbfgs", learning_rate=1.0,
                      patience=0, validation_fraction=0.0)
    fitted = common.fit(rows, [], desc, model_cfg, cfg, seed)
    energy, force = curve(fitted.model, test_r)
    window = test_r <= 1.8
    r_eq, k_eq = minimum(fitted.model)
    return {"arm": arm, "seed": seed, "rows": len(rows), "n_features": fitted.model.spec.n_features,
            "energy_mae_meV": 1e3 * float(np.abs(energy - test_e).mean()),
            "force_mae_eV_A": float(np.abs(force - test_f).mean()),
            "energy_mae_min_meV": 1e3 * float(np.abs(energy - test_e)[window].mean()),
            "force_mae_min_eV_A": float(np.abs(force - test_f)[window].mean()),
            "r_eq_A": r_eq, "curvature_eV_A2": k_eq, "epochs": fitted.report.epochs,
            "cpu_s": fitted.cpu_s, "energy_curve": energy.tolist(), "force_curve": force.tolist()}


def summarise(study: common.Study, seeds: list[int]) -> str:
    rows = []
    for arm in ARMS:
        runs = [r for r in study.runs if r["arm"] == arm and r["seed"] in seeds]
        if not runs:
            continue
        get = lambda key: [r[key] for r in runs]  # noqa: E731
        study.summary[arm] = {k: common.mean_sd(get(k)) for k in (
            "energy_mae_meV", "force_mae_eV_A", "energy_mae_min_meV", "force_mae_min_eV_A",
            "r_eq_A", "curvature_eV_A2")} | {"seeds": len(runs), "rows": runs[0]["rows"]}
        rows.append([arm, runs[0]["rows"], len(runs), common.pm(get("energy_mae_meV"), 1),
                     common.pm(get("force_mae_eV_A"), 3), common.pm(get("energy_mae_min_meV"), 1),
                     common.pm(get("force_mae_min_eV_A"), 3), common.pm(get("r_eq_A"), 3),
                     common.pm(get("curvature_eV_A2"), 0)])
    text = common.table(["arm", "rows", "seeds", "E MAE 1.4–2.8 Å (meV)", "F MAE 1.4–2.8 Å (eV/Å)",
                         "E MAE 1.4–1.8 Å (meV)", "F MAE 1.4–1.8 Å (eV/Å)", "r_eq (Å)",
                         "V'' at r_eq (eV/Å²)"], rows)
    return text + f"\n\nAnalytic: r_eq = {R0} Å, V''(r0) = {analytic_curvature():.0f} eV/Å². " \
        "mean ± sd over seeds (sample sd); each seed is one network.\n"


def figure(study: common.Study, test_r, test_e, test_f, train_r) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    axes[0].plot(test_r, test_e, "k-", lw=2, label="analytic")
    axes[1].plot(test_r, test_f, "k-", lw=2)
    for arm, colour in zip(ARMS, ("C3", "C2", "C1", "C4", "C0")):
        runs = [r for r in study.runs if r["arm"] == arm]
        if not runs:
            continue
        for ax, key in zip(axes, ("energy_curve", "force_curve")):
            y = np.array([r[key] for r in runs])
            ax.plot(test_r, y.mean(0), color=colour, label=f"{arm} (mean of {len(runs)})")
            ax.fill_between(test_r, y.mean(0) - y.std(0, ddof=1), y.mean(0) + y.std(0, ddof=1),
                            color=colour, alpha=0.2)
    energies = np.interp(train_r, test_r, test_e)
    axes[0].plot(train_r, energies, "ko", ms=7, mfc="none", label="training points")
    axes[0].set_ylim(test_e.min() - 0.5, 2.0)
    axes[1].set_ylim(-30, 30)
    axes[0].set_ylabel("energy (eV)")
    axes[1].set_ylabel("bond force −dE/dr (eV/Å)")
    axes[1].set_xlabel("r (Å)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("LJ dimer (seed 000 Fig. 2): mean ± sd over seeds")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=300)
    args = p.parse_args()
    common.threads()
    study = common.Study("seed000_lj_dimer", args.out, vars(args) | {"eps_eV": EPS, "r0_A": R0,
                                                                     "delta_A": DELTA}, args.resume)
    ref = reference()
    train_r = np.linspace(1.4, 2.8, 7)
    train, _ = common.label([dimer(r) for r in train_r], ref)
    test_r = np.linspace(1.4, 2.8, 200)
    test, _ = common.label([dimer(r) for r in test_r], ref)
    test_e = np.array([s.labels.energy for s in test])
    test_f = np.array([s.labels.forces[1, 0] for s in test])
    seeds = list(range(args.seeds))
    for seed in seeds:
        for arm in ARMS:
            study.run(f"{arm}/{seed}", lambda: one(arm, seed, train, test_r, test_e, test_f, args.epochs))
        study.save(summarise(study, seeds))
    figure(study, test_r, test_e, test_f, train_r)
    study.save(summarise(study, seeds))


if __name__ == "__main__":
    main()
