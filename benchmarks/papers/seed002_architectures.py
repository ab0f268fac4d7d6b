"""Seed 002 (Neural-network architecture vs training-set size, HDNNPs on QM9/3BPA): learning
curves of fixed architectures against alearn's ``hidden = "auto"`` policy, one vs two hidden
layers at equal weight counts, and the activation functions tanh, softplus and SiLU.

Data: GFN2-xTB (tblite, alearn's ``xtb`` reference) Langevin MD of ethanol (9 atoms; friction
0.01/fs, 0.5 fs steps, 2 000 steps of equilibration, a frame every 40 steps = 20 fs).  The pool
is one trajectory at 300 K and one at 500 K (250 frames each); the test set is two *other*
trajectories at 300 K and 500 K (150 frames each, own seeds).  From the pool, 50 fixed frames
are the validation set of every run and the training sets are nested random subsets
(n = 25, 50, 100, 200, 400) of the other 450, drawn once.

Arms (descriptor Chebyshev radial/angular Rc 6/4 Å, orders 10/4 → 32 features per atom; loss
energies + forces, α = 0.5; Adam lr 3e-3, 8 optimiser steps per epoch (batch = ⌈n/8⌉),
``--epochs`` epochs with patience ``--patience`` and the best-validation weights; all fixed
before any result was seen):

* ``2x16`` (817 weights per element network), ``1x24`` (817: one layer, the same weights),
  ``2x48`` (3 985, the paper's ≈ 4 000 of its largest set), ``1x117`` (3 979) — softplus;
* ``auto`` — ``alearn.train.policy.auto_hidden`` (two equal layers, ≈ 600·(n/1000)^0.44
  weights, clipped at 120) — softplus;
* ``2x16 tanh``, ``2x16 silu``, ``auto tanh``, ``auto silu`` — the activation comparison.

Seeds: the ``--seeds`` initial weights of one arm are trained side by side as the members of one
committee (each member's loss, gradients, Adam state and best epoch are its own; the data, the
split and the batch order are shared) and scored one by one on the test set: force-component
RMSE (eV/Å) and energy RMSE (meV/atom); mean ± sd over seeds.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed002_architectures.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ase.build import molecule

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZES = (25, 50, 100, 200, 400)
VALID = 50
ARCH_ARMS = {"2x16": ((16, 16), "softplus"), "1x24": ((24,), "softplus"),
             "2x48": ((48, 48), "softplus"), "1x117": ((117,), "softplus"),
             "auto": ("auto", "softplus")}
ACT_ARMS = {"2x16 tanh": ((16, 16), "tanh"), "2x16 silu": ((16, 16), "silu"),
            "auto tanh": ("auto", "tanh"), "auto silu": ("auto", "silu")}
ARMS = {**ARCH_ARMS, **ACT_ARMS}
DT_FS, STRIDE, EQUIL = 0.5, 40, 2000


def trajectory(n: int, temperature_K: float, seed: int) -> list:
    """``n`` frames of GFN2-xTB Langevin MD of ethanol (reference dynamics)."""
    ref = common.xtb_reference()
    atoms = molecule("CH3CH2OH")
    atoms.calc = ref.ase_calculator(atoms)
    return common.langevin_frames(atoms, n, temperature_K=temperature_K, timestep_fs=DT_FS,
                                  friction_per_fs=0.01, equilibrate=EQUIL, stride=STRIDE, seed=seed)


def dataset() -> tuple[list, list]:
    ref = common.xtb_reference()
    cache = common.CACHE / "seed002_architectures"
    pool = common.cached(cache / "pool.xyz", lambda: common.label(
        trajectory(250, 300.0, 1) + trajectory(250, 500.0, 2), ref)[0])
    test = common.cached(cache / "test.xyz", lambda: common.label(
        trajectory(150, 300.0, 11) + trajectory(150, 500.0, 12), ref)[0])
    return pool, test


def split(pool: list) -> tuple[list, list]:
    order = np.random.default_rng(2024).permutation(len(pool))
    valid = [pool[k] for k in order[:VALID]]
    rest = [pool[k] for k in order[VALID:]]
    return rest, valid


def one(arm: str, n: int, train_pool: list, valid: list, test: list, seeds: int, epochs: int,
        patience: int) -> dict:
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
    from alearn.train.policy import weights_of

    hidden, activation = ARMS[arm]
    train = train_pool[:n]
    desc = DescriptorConfig(radial_cutoff_A=6.0, angular_cutoff_A=4.0, radial_order=10, angular_order=4)
    cfg = TrainConfig(epochs=epochs, force_weight=0.5, optimizer="adam", learning_rate=3e-3,
                      batch_size=int(np.ceil(n / 8)), patience=patience)
    fitted = common.fit(train, valid, desc, CommitteeConfig(members=seeds, hidden=hidden, activation=activation),
                        cfg, 0)
    per_seed = []
    for k in range(seeds):
        e = common.committee_errors(common.members(fitted.model, [k]), test)
        per_seed.append({"force_rmse_eV_A": e["force_rmse_eV_A"], "force_mae_eV_A": e["force_mae_eV_A"],
                         "energy_rmse_meV_atom": 1e3 * e["energy_rmse_eV_atom"]})
    n_f = fitted.model.spec.n_features
    return {"arm": arm, "n": n, "hidden": list(fitted.model.hidden), "activation": activation,
            "weights_per_element": weights_of(n_f, tuple(fitted.model.hidden)), "n_features": n_f,
            "best_epochs": list(fitted.report.best_epochs), "epochs_run": fitted.report.epochs,
            "cpu_s": fitted.cpu_s, "wall_s": fitted.wall_s, "per_seed": per_seed}


def values(study: common.Study, arm: str, n: int, key: str) -> list[float]:
    run = study.cached(f"{arm}/{n}")
    return [] if run is None else [s[key] for s in run["per_seed"]]


def ratio(study: common.Study, a: str, b: str, key: str, sizes=SIZES) -> list[float]:
    """Per-size ratio of the seed-mean errors of arm ``a`` to arm ``b``."""
    out = []
    for n in sizes:
        x, y = values(study, a, n, key), values(study, b, n, key)
        if x and y:
            out.append(float(np.mean(x) / np.mean(y)))
    return out


def summarise(study: common.Study) -> str:
    parts = []
    for key, label, digits, scale in (("force_rmse_eV_A", "force RMSE (meV/Å)", 0, 1e3),
                                      ("energy_rmse_meV_atom", "energy RMSE (meV/atom)", 2, 1.0)):
        rows = []
        for arm in ARMS:
            run = next((study.cached(f"{arm}/{n}") for n in SIZES if study.cached(f"{arm}/{n}")), None)
            if run is None:
                continue
            weights = [study.cached(f"{arm}/{n}")["weights_per_element"] for n in SIZES if study.cached(f"{arm}/{n}")]
            w = f"{weights[0]}" if len(set(weights)) == 1 else f"{weights[0]}–{weights[-1]}"
            rows.append([arm, w] + [common.pm(values(study, arm, n, key), digits, scale) for n in SIZES])
            study.summary.setdefault(arm, {})[key] = {n: common.mean_sd(values(study, arm, n, key)) for n in SIZES}
        parts.append(f"**{label}** on 300 held-out frames (mean ± sd over seeds)\n\n"
                     + common.table(["arm", "weights / element net"] + [f"n = {n}" for n in SIZES], rows))
    auto_w = [study.cached(f"auto/{n}") for n in SIZES]
    auto_h = ", ".join(f"{r['n']}: {'×'.join(map(str, r['hidden']))}" for r in auto_w if r)
    claims = []
    f = "force_rmse_eV_A"
    e = "energy_rmse_meV_atom"
    for a, b, what, paper in (
            ("1x24", "2x16", "1 vs 2 hidden layers, 817 weights", "1H MAE 11 % higher than 2H (QM9 energies, Table III: 3–14 % per size)"),
            ("1x117", "2x48", "1 vs 2 hidden layers, ≈ 3 980 weights", "as above"),
            ("2x16 tanh", "2x16", "tanh vs softplus, 2x16", "bounded worse, most at small n; softplus best at every n (Fig. 6)"),
            ("2x16 silu", "2x16", "SiLU vs softplus, 2x16", "(SiLU not in the paper; ReLU ≈ softplus)"),
            ("auto tanh", "auto", "tanh vs softplus, auto", "as above"),
            ("auto silu", "auto", "SiLU vs softplus, auto", "—"),
            ("auto", "2x16", "auto vs fixed 2x16", "adapted size better; 4 000 instead of 600 weights at 1 000 structures: ≈ 10 % worse"),
            ("2x48", "2x16", "2x48 vs 2x16 (5× the weights)", "too many weights hurt at small n (Fig. 5)")):
        rf, re_ = ratio(study, a, b, f), ratio(study, a, b, e)
        if rf:
            claims.append([what, " / ".join(f"{x:.2f}" for x in rf), " / ".join(f"{x:.2f}" for x in re_), paper])
            study.summary.setdefault("ratios", {})[f"{a} / {b}"] = {"force": rf, "energy": re_}
    parts.append("**Ratios** of seed-mean test errors, one per training-set size "
                 f"(n = {', '.join(map(str, SIZES))}); < 1: the first arm is better\n\n"
                 + common.table(["comparison", "force RMSE ratio", "energy RMSE ratio", "paper"], claims))
    parts.append(f"auto policy widths (n: hidden): {auto_h}.")
    return "\n\n".join(parts) + "\n"


def figure(study: common.Study) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for col, arms in enumerate((ARCH_ARMS, {"2x16": 0, "auto": 0, **ACT_ARMS})):
        for row, (key, label) in enumerate((("force_rmse_eV_A", "force RMSE (eV/Å)"),
                                            ("energy_rmse_meV_atom", "energy RMSE (meV/atom)"))):
            ax = axes[row, col]
            for k, arm in enumerate(arms):
                ns = [n for n in SIZES if values(study, arm, n, key)]
                m = [np.mean(values(study, arm, n, key)) for n in ns]
                s = [np.std(values(study, arm, n, key), ddof=1) for n in ns]
                ls = "--" if "tanh" in arm else (":" if "silu" in arm else "-")
                ax.errorbar(ns, m, s, marker="o", ls=ls, capsize=3, label=arm)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_ylabel(label)
            ax.legend(fontsize=8)
            if row == 1:
                ax.set_xlabel("training structures")
    axes[0, 0].set_title("architectures (softplus)")
    axes[0, 1].set_title("activation functions")
    fig.suptitle("Seed 002: learning curves, GFN2-xTB ethanol MD (300/500 K)")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def _set_sizes(sizes: list[int]) -> None:
    global SIZES
    SIZES = tuple(sizes)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--patience", type=int, default=100)
    p.add_argument("--arms", nargs="*", default=list(ARMS))
    p.add_argument("--sizes", nargs="*", type=int, default=list(SIZES),
                   help="training-set sizes (the convergence check runs a subset)")
    args = p.parse_args()
    _set_sizes(args.sizes)
    common.threads()
    study = common.Study("seed002_architectures", args.out, vars(args) | {"sizes": SIZES, "valid": VALID},
                         args.resume)
    pool, test = dataset()
    train_pool, valid = split(pool)
    for n in SIZES:
        for arm in args.arms:
            study.run(f"{arm}/{n}", lambda: one(arm, n, train_pool, valid, test, args.seeds, args.epochs,
                                                args.patience))
            study.save(summarise(study))
    figure(study)
    study.save(summarise(study))


if __name__ == "__main__":
    main()
