"""Seed 001 (Shimamura et al. 2019): close-contact correction data, long hot MD, pressure
monitoring and g(r) convergence of the training data — on periodic fcc Cu with EMT.

Reference: ASE's EMT (alearn's ``emt`` plugin), a periodic 3×3×3 cubic cell (108 atoms,
a = 3.61 Å).  Per seed:

1. **Data sufficiency** (the paper's guideline 1): an EMT Langevin trajectory at 500 K (2 fs,
   friction 0.02/fs, 1 ps equilibration, a frame every 50 steps, ``--frames`` frames).  For its
   first N = 4, 8, …, frames, ``alearn.data.rdf.halves_distance`` (relative L1 distance between
   the g(r) of the first and second half) and the distance of their g(r) to that of a separate
   120-frame reference trajectory (``rdf_distance``).
2. **Training sets of equal size**: the first ``--train`` frames plus ``--extra`` structures:
   ``no correction`` — the next ``--extra`` MD frames; ``correction`` — ``--extra`` close-contact
   structures from ``alearn.select.close_contact.close_contact_set`` (training frames as seeds,
   targets 0.1 Å below the shortest Cu–Cu distance in the data, as in the paper, cells shrunk by
   at most 25 %, floor the walkers' sanity limit 0.6 × covalent radii), labelled by EMT.
   The same validation frames (a separate 500 K trajectory) and stopping rule (best validation
   epoch) for both; Adam, the same epochs and optimiser steps; energies and forces (force weight
   0.5, no stress term) and ``[train] monitor_every`` = 50: the validation pressure error during
   training (the paper's guideline 3), with the stress the model derives from the energy.
3. **Long hot MD** on each model (``common.md_stability``: Langevin at ``--md-temperature``, 2 fs,
   from the perfect crystal, ``--md-runs`` runs): steps until failure — a Cu–Cu pair below
   1.58 Å (0.6 × covalent radii), temperature above 5× the target, or non-finite energy/forces.
   EMT at 1800 K itself reaches ≈ 1.98 Å, the 500 K data ≈ 2.2 Å.
4. Test errors (energy, force, pressure) on 10 EMT frames at 500 K and 10 at the MD temperature.

Networks 2×16 softplus, radial Chebyshev order 10 (Rc 5.5 Å), angular order 4 (4 Å).
Mean ± sd over ``--seeds`` seeds (data, correction set, initial weights and MD all differ).

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/papers/seed001_close_contacts.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.units import GPa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import seed003_fragments as cu  # noqa: E402  (the EMT Cu cell, reference and MD frames)

T_DATA_K = 500.0
RC_A = 5.5
ARMS = ("no correction", "correction")
R_MAX_A = 6.0


def labelled(name: str, make) -> list:
    return common.cached(common.CACHE / "seed001_close_contacts" / f"{name}.xyz",
                         lambda: common.label(make(), cu.reference())[0])


def rdf_convergence(frames: list, reference_frames: list) -> dict:
    from alearn.data.rdf import halves_distance, rdf, rdf_distance

    _, g_ref = rdf(reference_frames, R_MAX_A)
    sizes = [n for n in (4, 8, 16, 32, 64, 128) if n <= len(frames)]
    return {"sizes": sizes,
            "halves": [halves_distance(frames[:n], R_MAX_A) for n in sizes],
            "to_reference": [rdf_distance(rdf(frames[:n], R_MAX_A)[1], g_ref) for n in sizes]}


def correction_rows(train: list, count: int, seed: int) -> tuple[list, dict]:
    """``count`` close-contact structures (alearn's correction set on the training frames)."""
    from alearn.explore.sanity import PairLimits, min_pair_distances
    from alearn.select.close_contact import close_contact_set

    frames = [s.atoms for s in train]
    shortest = min_pair_distances(frames)
    made = close_contact_set(frames, shortest, margin_A=0.1, per_pair=count, max_compression=0.25,
                             rng=np.random.default_rng(3000 + seed), limits=PairLimits(0.6))
    rows = labelled(f"correction_s{seed}_n{count}", lambda: [m.atoms for m in made])
    pressure = [-float(np.mean(s.labels.stress[:3])) / GPa for s in rows]
    return rows, {"data_min_A": float(min(shortest.values())),
                  "contact_min_A": float(min(m.distance_A for m in made)),
                  "contact_max_A": float(max(m.distance_A for m in made)),
                  "compression_min": float(min(m.compression for m in made)),
                  "pressure_max_GPa": float(max(pressure)), "pressure_mean_GPa": float(np.mean(pressure))}


def test_errors(model, test: list) -> dict:
    from alearn.train.metrics import error_metrics

    out = {}
    for name, part in (("cold", test[: len(test) // 2]), ("hot", test[len(test) // 2:])):
        m = error_metrics(part, model.predict([s.atoms for s in part]))
        out |= {f"{name}_{k}": m[k] for k in ("energy_rmse_eV_atom", "force_rmse_eV_A", "pressure_rmse_GPa")
                if k in m}
    return out


def one(arm: str, seed: int, rows: list, valid: list, test: list, args) -> dict:
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
    from alearn.models.io import save_committee

    desc = DescriptorConfig(radial_cutoff_A=RC_A, angular_cutoff_A=4.0, radial_order=10, angular_order=4)
    model_cfg = CommitteeConfig(members=1, hidden=(16, 16), activation="softplus")
    cfg = TrainConfig(epochs=args.epochs, force_weight=0.5, optimizer="adam", learning_rate=3e-3,
                      batch_size=int(np.ceil(len(rows) / 4)), patience=0, monitor_every=50)
    fitted = common.fit(rows, valid, desc, model_cfg, cfg, seed)
    history = [{k: h[k] for k in ("epoch", "valid_pressure_rmse_GPa", "valid_force_rmse_eV_A",
                                  "valid_energy_rmse_eV_atom") if k in h}
               for h in fitted.report.history if "valid_pressure_rmse_GPa" in h]
    md = []
    with tempfile.TemporaryDirectory() as tmp:
        save_committee(fitted.model, Path(tmp) / "model")
        for run in range(args.md_runs):
            md.append(common.md_stability(Path(tmp) / "model", cu.crystal(), steps=args.md_steps,
                                          temperature_K=args.md_temperature, timestep_fs=2.0,
                                          seed=10_000 * seed + run))
    return {"arm": arm, "seed": seed, "rows": len(rows), "best_epoch": fitted.report.best_epochs[0],
            "train_cpu_s": fitted.cpu_s, "history": history, "md": md,
            "md_survived_mean": float(np.mean([m["survived_steps"] for m in md])),
            "md_failed": sum(m["failed"] for m in md), **test_errors(fitted.model, test)}


def failure_kind(reason: str) -> str:
    """'close contact', 'temperature', 'non-finite' or the error's name."""
    for kind in ("close contact", "temperature", "non-finite"):
        if reason.startswith(kind):
            return kind
    return reason


def summarise(study: common.Study, seeds: list[int], args) -> str:
    rows = []
    for arm in ARMS:
        runs = [r for r in study.runs if r.get("arm") == arm and r["seed"] in seeds]
        if not runs:
            continue
        get = lambda key: [r.get(key, float("nan")) for r in runs]  # noqa: E731
        failed = sum(r["md_failed"] for r in runs)
        total = sum(len(r["md"]) for r in runs)
        survived = [m["survived_steps"] for r in runs for m in r["md"]]
        reasons = sorted({failure_kind(m["reason"]) for r in runs for m in r["md"] if m["reason"]})
        study.summary[arm] = {"md_failed": failed, "md_runs": total, "survived": common.mean_sd(survived)}
        rows.append([arm, runs[0]["rows"], len(runs), f"{failed} / {total}", common.pm(survived, 0),
                     ", ".join(reasons) or "—",
                     common.pm(get("cold_force_rmse_eV_A"), 3), common.pm(get("hot_force_rmse_eV_A"), 3),
                     common.pm(get("cold_pressure_rmse_GPa"), 2), common.pm(get("hot_pressure_rmse_GPa"), 2),
                     common.pm([1e3 * x for x in get("hot_energy_rmse_eV_atom")], 1)])
    text = common.table(["arm", "training rows", "seeds", f"MD runs failed ({args.md_steps} steps)",
                         "steps survived", "failure", "F RMSE 500 K (eV/Å)",
                         f"F RMSE {args.md_temperature:.0f} K (eV/Å)", "P RMSE 500 K (GPa)",
                         f"P RMSE {args.md_temperature:.0f} K (GPa)",
                         f"E RMSE {args.md_temperature:.0f} K (meV/atom)"], rows)
    cc = [r for r in study.runs if r.get("kind") == "correction-set" and r["seed"] in seeds]
    if cc:
        text += ("\n\nCorrection sets: closest pair in the 500 K data "
                 f"{common.pm([c['data_min_A'] for c in cc], 3)} Å, pinched pairs "
                 f"{min(c['contact_min_A'] for c in cc):.3f}–{max(c['contact_max_A'] for c in cc):.3f} Å, "
                 f"cells shrunk to ≥ {min(c['compression_min'] for c in cc):.3f} of their length, "
                 f"pressure up to {max(c['pressure_max_GPa'] for c in cc):.0f} GPa "
                 f"(mean {common.pm([c['pressure_mean_GPa'] for c in cc], 0)} GPa).\n")
    gr = [r for r in study.runs if r.get("kind") == "rdf" and r["seed"] in seeds]
    if gr:
        sizes = gr[0]["sizes"]
        text += "\n" + common.table(["frames"] + [str(n) for n in sizes],
                                    [["g(r) first vs second half"] + [common.pm([g["halves"][k] for g in gr], 3)
                                                                      for k in range(len(sizes))],
                                     ["g(r) vs 120-frame reference"] + [common.pm([g["to_reference"][k] for g in gr], 3)
                                                                        for k in range(len(sizes))]])
        text += "\n\n(relative L1 distance ∫|g − g′| dr / ∫ g′ dr up to 6 Å, 500 K)\n"
    return text + "\nmean ± sd over seeds (sample sd).\n"


def figure(study: common.Study, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for k, arm in enumerate(ARMS):
        runs = [r for r in study.runs if r.get("arm") == arm]
        for i, r in enumerate(runs):
            h = r["history"]
            axes[0].plot([x["epoch"] for x in h], [x["valid_pressure_rmse_GPa"] for x in h], color=f"C{k}",
                         alpha=0.7, label=arm if i == 0 else None)
            axes[1].plot([i + 0.1 * k] * len(r["md"]), [m["survived_steps"] for m in r["md"]], "o",
                         color=f"C{k}", label=arm if i == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("validation pressure RMSE (GPa)")
    axes[0].legend(fontsize=8)
    axes[1].axhline(args.md_steps, color="k", ls=":")
    axes[1].set_xlabel("seed")
    axes[1].set_ylabel(f"MD steps survived at {args.md_temperature:.0f} K")
    axes[1].legend(fontsize=8)
    for g in (r for r in study.runs if r.get("kind") == "rdf"):
        axes[2].plot(g["sizes"], g["halves"], "o-", color="C2", alpha=0.7)
        axes[2].plot(g["sizes"], g["to_reference"], "s--", color="C3", alpha=0.7)
    axes[2].set_xscale("log", base=2)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("training frames (500 K)")
    axes[2].set_ylabel("g(r) distance: halves (o), to reference (s)")
    fig.suptitle("Seed 001 on EMT Cu: close-contact correction set, pressure monitor, g(r) convergence")
    fig.tight_layout()
    fig.savefig(study.figure_path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--frames", type=int, default=64, help="500 K frames per seed (g(r) study)")
    p.add_argument("--train", type=int, default=24, help="MD frames in both training sets")
    p.add_argument("--extra", type=int, default=8, help="extra rows: MD frames or close-contact structures")
    p.add_argument("--valid", type=int, default=8)
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--md-temperature", type=float, default=1800.0)
    p.add_argument("--md-steps", type=int, default=6000)
    p.add_argument("--md-runs", type=int, default=2)
    args = p.parse_args()
    if args.train + args.extra > args.frames:
        p.error("--train + --extra must not exceed --frames")
    common.threads()
    study = common.Study("seed001_close_contacts", args.out, vars(args) | {"rc_A": RC_A, "t_data_K": T_DATA_K},
                         args.resume)
    reference = [s.atoms for s in labelled("reference_500K_n120", lambda: cu.md_frames(120, T_DATA_K, 77_000))]
    test = (labelled("test_500K_n10", lambda: cu.md_frames(10, T_DATA_K, 88_000))
            + labelled(f"test_{args.md_temperature:.0f}K_n10", lambda: cu.md_frames(10, args.md_temperature, 88_001)))
    seeds = list(range(args.seeds))
    for seed in seeds:
        frames = labelled(f"md_500K_s{seed}_n{args.frames}", lambda: cu.md_frames(args.frames, T_DATA_K, 500 + seed))
        valid = labelled(f"valid_500K_s{seed}_n{args.valid}", lambda: cu.md_frames(args.valid, T_DATA_K, 600 + seed))
        study.run(f"rdf/{seed}", lambda: {"kind": "rdf", "seed": seed,
                                          **rdf_convergence([s.atoms for s in frames], reference)})
        train = frames[: args.train]
        contacts, facts = correction_rows(train, args.extra, seed)
        study.run(f"correction-set/{seed}", lambda: {"kind": "correction-set", "seed": seed, **facts})
        sets = {"no correction": train + frames[args.train: args.train + len(contacts)],
                "correction": train + contacts}
        for arm in ARMS:
            study.run(f"{arm}/{seed}", lambda: one(arm, seed, sets[arm], valid, test, args))
        study.save(summarise(study, seeds, args))
    figure(study, args)
    study.save(summarise(study, seeds, args))


if __name__ == "__main__":
    main()
