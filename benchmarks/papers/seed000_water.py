"""Seed 000 (Cooper, Kästner, Urban, Artrith 2020), water clusters (Figs. 3–6): Taylor-expansion
force training (strategy B) against energy-only and direct force training.

Reference: GFN2-xTB (tblite, alearn's ``xtb`` plugin) instead of the paper's BLYP-D3 on GFN-xTB
MD frames.  Water hexamers (6 H₂O, 18 atoms), Langevin MD with the reference (0.5 fs, friction
0.01/fs, 2 000 steps of equilibration, a frame every 40 steps = 20 fs) at 300 K and at 800 K
(the paper's two temperatures); every O is held by a flat-bottomed harmonic wall (ASE ``Hookean``,
4.5 Å from the starting centre, k = 5 eV/Å², acting on the MD only — the labels are plain xTB)
so that the cluster does not evaporate at 800 K.  Pool: one trajectory at each temperature
(450 frames each); validation: 20 fixed frames of the pool; training sets: nested random subsets
of the rest (N = 100 base structures; N = 200, 400, 800 for the energy-only data-saving arms);
test: 300 frames of two other trajectories (150 at each temperature, own seeds).

Settings fixed before any result was seen (and not changed after):
* descriptor Chebyshev radial/angular Rc 6.5/3.0 Å, orders 18/4 (the paper's bulk-water
  descriptor: 48 features), networks 48-10-10-1 tanh (the paper's size for water);
* Taylor strategy B, δmax = 0.01 Å (the paper's choice for bulk water, ≈ its optimum 0.008 Å
  for clusters), multiples a ∈ {0, 1, 4, 8, 16, 24, 32, 64} of N = 100 (a = 0: energy-only);
* direct force training: the N = 100 energies and forces, force weight α = 0.5;
* Adam: lr 3e-3, 8 optimiser steps per epoch (batch = ⌈rows/8⌉), ``--epochs`` epochs, the
  weights of the best epoch on the 20 validation frames scored with the arm's own loss (energy
  only for energy-only and Taylor rows, energy + forces for direct); the ``--seeds`` seeds are
  the members of one committee trained side by side (own losses, gradients, Adam state, best
  epochs; shared data and batch order) and scored one by one;
* L-BFGS (torch, strong Wolfe, ≤ 20 iterations per step, full batch): ``--lbfgs-epochs`` steps,
  one network per seed trained separately, the same best-validation rule; a ∈ {0, 8, 24}
  and direct.
* MD stability: each seed's energy-only, Taylor a = 24 and direct (Adam) network runs
  ``--md-runs`` Langevin NVT runs at 500 K (0.5 fs, ``--md-steps`` steps, the same O wall) from
  test frames; a run fails on a pair closer than 0.6 × the covalent radii, T > 2 500 K,
  non-finite values, or an H farther than 1.4 Å from every O (a broken molecule).

Measures on the test frames: force-component MAE (the paper's Fig. 4/6 measure) and RMSE
(eV/Å), energy RMSE (meV/atom).  Share of direct training's gain:
(F_energy − F_Taylor) / (F_energy − F_direct) per seed (paired by seed: the same initial weights).
Data saving: the N at which the energy-only force MAE falls to the Taylor a = 24 value (N = 100),
interpolated in log N between measured N (never extrapolated), divided by 100.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed000_water.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

MULTIPLES = (0, 1, 4, 8, 16, 24, 32, 64)
LBFGS_MULTIPLES = (0, 8, 24)
N_BASE, DATA_SIZES = 100, (100, 200, 400, 800)
VALID = 20
DELTA_MAX_A = 0.01
WALL_A, WALL_K = 4.5, 5.0
DT_FS, STRIDE, EQUIL = 0.5, 40, 2000
MD_TEMPERATURE_K = 500.0
PAPER = {"force_drop_a24": 0.45, "force_drop_a48": 0.52, "energy_gain_a36": 0.19, "share": 0.5, "saving": 4.0}


def hexamer(seed: int) -> Atoms:
    """Six water molecules on a 2×3 grid (2.9 Å apart) with random orientations."""
    from ase.build import molecule
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    out = Atoms()
    for k in range(6):
        w = molecule("H2O")
        w.positions = Rotation.random(random_state=int(rng.integers(1 << 31))).apply(w.positions - w.positions[0])
        w.positions += np.array([(k % 3) * 2.9, (k // 3) * 2.9, 0.3 * rng.standard_normal()])
        out += w
    out.positions -= out.positions.mean(0)
    return out


def relaxed_hexamer(seed: int) -> Atoms:
    """:func:`hexamer` after 60 GFN2-xTB FIRE steps (removes clashes of the random start)."""
    from ase.optimize import FIRE

    atoms = hexamer(seed)
    atoms.calc = common.xtb_reference().ase_calculator(atoms)
    FIRE(atoms, logfile=None).run(fmax=0.1, steps=60)
    atoms.calc = None
    atoms.positions -= atoms.positions.mean(0)
    return atoms


def wall(atoms: Atoms) -> list:
    """Flat-bottomed harmonic wall on every O around the origin (MD only)."""
    from ase.constraints import Hookean

    return [Hookean(a1=i, a2=np.zeros(3), k=WALL_K, rt=WALL_A) for i, s in enumerate(atoms.get_chemical_symbols())
            if s == "O"]


def trajectory(n: int, temperature_K: float, seed: int) -> list[Atoms]:
    """``n`` frames of GFN2-xTB Langevin MD of the hexamer (reference dynamics, O wall)."""
    atoms = relaxed_hexamer(seed)
    atoms.set_constraint(wall(atoms))
    atoms.calc = common.xtb_reference().ase_calculator(atoms)
    return common.langevin_frames(atoms, n, temperature_K=temperature_K, timestep_fs=DT_FS,
                                  friction_per_fs=0.01, equilibrate=EQUIL, stride=STRIDE, seed=seed)


def dataset() -> tuple[list, list, list]:
    """Training pool (nested subsets in a fixed random order), validation and test rows."""
    ref = common.xtb_reference()
    cache = common.CACHE / "seed000_water"
    pool = common.cached(cache / "pool.xyz", lambda: common.label(
        trajectory(450, 300.0, 1) + trajectory(450, 800.0, 2), ref)[0])
    test = common.cached(cache / "test.xyz", lambda: common.label(
        trajectory(150, 300.0, 11) + trajectory(150, 800.0, 12), ref)[0])
    order = np.random.default_rng(2020).permutation(len(pool))
    return [pool[k] for k in order[VALID:]], [pool[k] for k in order[:VALID]], test


def rows_for(train: list, multiple: int) -> list:
    from alearn.augment.taylor import taylor_augment
    from alearn.config.ann import TaylorConfig

    if multiple == 0:
        return list(train)
    cfg = TaylorConfig(strategy="B", multiple=multiple, delta_A=DELTA_MAX_A, min_force_eV_A=0.0)
    return list(train) + taylor_augment(train, cfg, np.random.default_rng(3000 + multiple))


def test_errors(model, test: list) -> dict:
    e = common.committee_errors(model, test)
    return {"force_mae_eV_A": e["force_mae_eV_A"], "force_rmse_eV_A": e["force_rmse_eV_A"],
            "energy_rmse_meV_atom": 1e3 * e["energy_rmse_eV_atom"]}


def broken_molecule(atoms: Atoms) -> str | None:
    """'H x.xx Å from every O' when some H has left its molecule."""
    sym = np.array(atoms.get_chemical_symbols())
    h, o = atoms.positions[sym == "H"], atoms.positions[sym == "O"]
    nearest = np.linalg.norm(h[:, None, :] - o[None, :, :], axis=2).min(1)
    return f"H {nearest.max():.2f} Å from every O" if nearest.max() > 1.4 else None


def centred_in_wall(atoms: Atoms) -> None:
    """The cluster's MD start: centred, inside its flat-bottomed wall."""
    atoms.positions -= atoms.positions.mean(0)
    atoms.set_constraint(wall(atoms))


def md_runs(model, test: list, seed: int, runs: int, steps: int, *, prepare=centred_in_wall,
            broken=broken_molecule, timestep_fs: float = DT_FS) -> list[dict]:
    """MD stability runs of ``model`` from test frames (``prepare`` edits each start in place)."""
    from alearn.models.io import save_committee

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        save_committee(model, Path(tmp) / "model")
        for run in range(runs):
            start = test[(37 * (seed * runs + run)) % len(test)].atoms.copy()
            if prepare is not None:
                prepare(start)
            out.append(common.md_stability(Path(tmp) / "model", start, steps=steps, temperature_K=MD_TEMPERATURE_K,
                                           timestep_fs=timestep_fs, seed=1000 * seed + run, broken=broken))
    return out


def train(rows: list, valid: list, alpha: float, optimizer: str, seeds: list[int], epochs: int):
    """Fitted committees: one with ``len(seeds)`` members (Adam) or one per seed (L-BFGS)."""
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig

    desc = DescriptorConfig(radial_cutoff_A=6.5, angular_cutoff_A=3.0, radial_order=18, angular_order=4)
    if optimizer == "adam":
        cfg = TrainConfig(epochs=epochs, force_weight=alpha, optimizer="adam", learning_rate=3e-3,
                          batch_size=int(np.ceil(len(rows) / 8)), patience=0)
        fitted = common.fit(rows, valid, desc, CommitteeConfig(members=len(seeds), hidden=(10, 10), activation="tanh"),
                            cfg, 0)
        return [(common.members(fitted.model, [k]), fitted.report.best_epochs[k]) for k in range(len(seeds))], \
            fitted.cpu_s
    cfg = TrainConfig(epochs=epochs, force_weight=alpha, optimizer="lbfgs", learning_rate=1.0, patience=0,
                      validation_fraction=0.1 if valid else 0.0)
    out, cpu = [], 0.0
    for s in seeds:
        fitted = common.fit(rows, valid, desc, CommitteeConfig(members=1, hidden=(10, 10), activation="tanh"), cfg, s)
        out.append((fitted.model, fitted.report.best_epochs[0]))
        cpu += fitted.cpu_s
    return out, cpu


def one(arm: str, optimizer: str, rows: list, valid: list, test: list, alpha: float, args,
        md: bool) -> dict:
    seeds = list(range(args.seeds))
    epochs = args.epochs if optimizer == "adam" else args.lbfgs_epochs
    models, cpu = train(rows, valid, alpha, optimizer, seeds, epochs)
    per_seed = []
    for k, (model, best) in enumerate(models):
        row = {"seed": k, "best_epoch": best, **test_errors(model, test)}
        if md:
            row["md"] = md_runs(model, test, k, args.md_runs, args.md_steps)
        per_seed.append(row)
    return {"arm": arm, "optimizer": optimizer, "rows": len(rows), "alpha": alpha, "train_cpu_s": cpu,
            "per_seed": per_seed}


def get(study, key: str, field: str) -> list[float]:
    run = study.cached(key)
    return [] if run is None else [s[field] for s in run["per_seed"]]


def summarise(study: common.Study) -> str:
    parts = []
    for opt, multiples in (("adam", MULTIPLES), ("lbfgs", LBFGS_MULTIPLES), ("lbfgs-train", LBFGS_MULTIPLES),
                           ("lbfgs-prefix", LBFGS_MULTIPLES), ("lbfgs-train-prefix", LBFGS_MULTIPLES)):
        e0 = get(study, f"{opt}/a0", "force_mae_eV_A")
        d = get(study, f"{opt}/direct", "force_mae_eV_A")
        en0 = get(study, f"{opt}/a0", "energy_rmse_meV_atom")
        rows = []
        for label, key in [(f"a = {a}" + (" (energy-only)" if a == 0 else ""), f"{opt}/a{a}") for a in multiples] \
                + [("direct forces, α = 0.5", f"{opt}/direct")]:
            f = get(study, key, "force_mae_eV_A")
            if not f:
                continue
            en = get(study, key, "energy_rmse_meV_atom")
            drop = [1 - x / y for x, y in zip(f, e0)] if e0 else []
            share = [common.share_of_gain(y, x, z) for x, y, z in zip(f, e0, d)] if (e0 and d) else []
            de = [1 - x / y for x, y in zip(en, en0)] if en0 else []
            run = study.cached(key)
            rows.append([label, run["rows"], common.pm(f, 3), common.pm(get(study, key, "force_rmse_eV_A"), 3),
                         common.pm([100 * x for x in drop], 0), common.pm([100 * x for x in share], 0),
                         common.pm(en, 2), common.pm([100 * x for x in de], 0)])
            study.summary.setdefault(opt, {})[label] = {
                "force_mae": common.mean_sd(f), "force_drop": common.mean_sd(drop), "share": common.mean_sd(share),
                "energy_rmse": common.mean_sd(en), "energy_gain": common.mean_sd(de)}
        if rows:
            title = {"adam": "Adam", "lbfgs": "L-BFGS",
                     "lbfgs-train": "L-BFGS, no validation data: best epoch on the training loss (check added after the first run)",
                     "lbfgs-prefix": "L-BFGS before the fix of alearn's L-BFGS stall (commit 2ce63f0; superseded)",
                     "lbfgs-train-prefix": "L-BFGS, no validation data, before the fix of the stall (superseded)"}[opt]
            parts.append(f"**{title}** (N = {N_BASE} reference structures)\n\n" + common.table(
                ["arm", "rows", "F MAE (eV/Å)", "F RMSE (eV/Å)", "F MAE drop vs a = 0 (%)",
                 "share of direct gain (%)", "E RMSE (meV/atom)", "E RMSE gain vs a = 0 (%)"], rows))
    # data saving
    sizes, fm = [], []
    for n in DATA_SIZES:
        f = get(study, "adam/a0" if n == N_BASE else f"adam/energy_n{n}", "force_mae_eV_A")
        if f:
            sizes.append(n)
            fm.append(f)
    target = get(study, "adam/a24", "force_mae_eV_A")
    if len(sizes) > 1 and target:
        per_seed = []
        for k in range(len(target)):
            c = common.crossing(sizes, [x[k] for x in fm], target[k])
            per_seed.append(None if c is None else c / N_BASE)
        mean_curve = [float(np.mean(x)) for x in fm]
        c_mean = common.crossing(sizes, mean_curve, float(np.mean(target)))
        study.summary["data_saving"] = {"per_seed": per_seed, "of_means": None if c_mean is None else c_mean / N_BASE}
        parts.append("**Data saving** (Adam): energy-only force MAE vs N: "
                     + ", ".join(f"N = {n}: {common.pm(x, 3)}" for n, x in zip(sizes, fm))
                     + f"; Taylor a = 24 at N = {N_BASE}: {common.pm(target, 3)} eV/Å. Energy-only needs "
                     + (f"{c_mean / N_BASE:.1f}× the data" if c_mean is not None else f"more than {sizes[-1] // N_BASE}× the data (not reached in the measured range)")
                     + " to match (seed means; per seed: "
                     + ", ".join("> %d×" % (sizes[-1] // N_BASE) if x is None else f"{x:.1f}×" for x in per_seed)
                     + "). Paper: 4× (train_0500 + Taylor ≈ train_2000 energy-only).")
    # MD
    md_rows = []
    for label, key in (("energy-only", "adam/a0"), ("Taylor a = 24", "adam/a24"), ("direct", "adam/direct")):
        run = study.cached(key)
        if run is None or "md" not in run["per_seed"][0]:
            continue
        mds = [m for s in run["per_seed"] for m in s["md"]]
        failed = sum(m["failed"] for m in mds)
        reasons = sorted({m["reason"].split(" ")[0] for m in mds if m["failed"]})
        md_rows.append([label, f"{len(mds) - failed} / {len(mds)}",
                        common.pm([m["survived_steps"] * DT_FS / 1000 for m in mds], 2), ", ".join(reasons) or "—"])
        study.summary.setdefault("md", {})[label] = {"stable": len(mds) - failed, "runs": len(mds)}
    if md_rows:
        parts.append(f"**MD stability** (Adam networks; Langevin {MD_TEMPERATURE_K:.0f} K, {DT_FS} fs)\n\n" + common.table(
            ["potential", "runs that stayed physical", "time survived (ps)", "failure kinds"], md_rows))
    parts.append(f"Paper (bulk water, Fig. 6): force error −30 % at a = 12, −{100 * PAPER['force_drop_a24']:.0f} % at "
                 f"a = 24, −{100 * PAPER['force_drop_a48']:.0f} % at a = 48; energy RMSE −19 % at a = 36, worse at a = 64. "
                 "Clusters (Figs. 4–5): Taylor ≈ half of direct training's force-MAE gain; 4× data saving.")
    return "\n\n".join(parts) + "\n\nmean ± sd over seeds (sample sd).\n"


def figure(study: common.Study) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for opt, multiples, colour in (("adam", MULTIPLES, "C0"), ("lbfgs", LBFGS_MULTIPLES, "C1")):
        for ax, field, label in ((axes[0], "force_mae_eV_A", "force MAE (eV/Å)"),
                                 (axes[1], "energy_rmse_meV_atom", "energy RMSE (meV/atom)")):
            a = [x for x in multiples if get(study, f"{opt}/a{x}", field)]
            m = [np.mean(get(study, f"{opt}/a{x}", field)) for x in a]
            s = [np.std(get(study, f"{opt}/a{x}", field), ddof=1) for x in a]
            ax.errorbar(a, m, s, marker="o", capsize=3, color=colour, label=f"Taylor B ({opt})")
            d = get(study, f"{opt}/direct", field)
            if d:
                ax.axhline(np.mean(d), color=colour, ls="--", label=f"direct ({opt})")
            ax.set_xlabel("multiple a")
            ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    n = [x for x in DATA_SIZES if get(study, "adam/a0" if x == N_BASE else f"adam/energy_n{x}", "force_mae_eV_A")]
    y = [get(study, "adam/a0" if x == N_BASE else f"adam/energy_n{x}", "force_mae_eV_A") for x in n]
    if n:
        axes[2].errorbar(n, [np.mean(v) for v in y], [np.std(v, ddof=1) for v in y], marker="o", capsize=3,
                         label="energy-only (Adam)")
        t = get(study, "adam/a24", "force_mae_eV_A")
        if t:
            axes[2].axhline(np.mean(t), color="C2", ls="--", label=f"Taylor a = 24, N = {N_BASE}")
        axes[2].set_xscale("log")
        axes[2].set_xlabel("reference structures N")
        axes[2].set_ylabel("force MAE (eV/Å)")
        axes[2].legend(fontsize=8)
    fig.suptitle("Seed 000: Taylor strategy B (δmax 0.01 Å) on GFN2-xTB water hexamers")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=600, help="Adam epochs (8 steps each)")
    p.add_argument("--lbfgs-epochs", type=int, default=60, help="L-BFGS steps (≤ 20 iterations each)")
    p.add_argument("--md-runs", type=int, default=3, help="MD runs per seed and potential")
    p.add_argument("--md-steps", type=int, default=4000)
    p.add_argument("--no-lbfgs", action="store_true")
    p.add_argument("--lbfgs-train-select", action="store_true",
                   help="also the L-BFGS arms without validation data (weights of the best epoch on the arm's "
                        "own training loss), stored as lbfgs-train/* (a check added after the first run)")
    p.add_argument("--rerun", nargs="*", default=[], metavar="PREFIX",
                   help="with --resume: keep the stored runs PREFIX/* as PREFIX-prefix/* (shown as superseded) "
                        "and compute PREFIX/* again (used for lbfgs, lbfgs-train after the L-BFGS fix, 2ce63f0)")
    args = p.parse_args()
    common.threads()
    study = common.Study("seed000_water", args.out, vars(args) | {"multiples": MULTIPLES, "delta_max_A": DELTA_MAX_A,
                                                                   "n_base": N_BASE, "valid": VALID}, args.resume)
    for prefix in args.rerun:
        for run in study.runs:
            if run["key"].startswith(prefix + "/"):
                run["key"] = run["key"].replace(prefix + "/", prefix + "-prefix/", 1)
    pool, valid, test = dataset()
    base = pool[:N_BASE]
    md_keys = {0, 24}
    for a in MULTIPLES:
        study.run(f"adam/a{a}", lambda: one(f"a{a}", "adam", rows_for(base, a), valid, test, 0.0, args, a in md_keys))
        study.save(summarise(study))
    study.run("adam/direct", lambda: one("direct", "adam", base, valid, test, 0.5, args, True))
    for n in DATA_SIZES[1:]:
        study.run(f"adam/energy_n{n}", lambda: one(f"energy_n{n}", "adam", pool[:n], valid, test, 0.0, args, False))
        study.save(summarise(study))
    if not args.no_lbfgs:
        for a in LBFGS_MULTIPLES:
            study.run(f"lbfgs/a{a}", lambda: one(f"a{a}", "lbfgs", rows_for(base, a), valid, test, 0.0, args, False))
            study.save(summarise(study))
        study.run("lbfgs/direct", lambda: one("direct", "lbfgs", base, valid, test, 0.5, args, False))
    if args.lbfgs_train_select:
        for a in LBFGS_MULTIPLES:
            study.run(f"lbfgs-train/a{a}", lambda: one(f"a{a}", "lbfgs", rows_for(base, a), [], test, 0.0, args, False))
            study.save(summarise(study))
        study.run("lbfgs-train/direct", lambda: one("direct", "lbfgs", base, [], test, 0.5, args, False))
    figure(study)
    study.save(summarise(study))


if __name__ == "__main__":
    main()
