"""Calibration quality of every uncertainty measure, per system.

For each system of ``al_systems.py``: a committee (4 members) is trained on ``--train`` frames
of reference MD of the first test subset (seed 54321; the start state of the rare-event
systems), once plainly and once with bootstrap resampling.  Each measure is scaled on
``--valid`` more frames of that distribution (Gaussian maximum likelihood, per element) and
then judged on the system's whole test set (seed 12345; for rare-event systems half of it is in
the other state, where the model extrapolates):

- per atom: the measure against |ΔF_i| — Spearman, the scale fitted on validation and the
  miscalibration area of the scaled measure on test (χ² with 3 degrees of freedom);
- per frame: Spearman of the predicted frame force error (RMS over atoms of the scaled
  measure; the frame measure itself for the frame measures ``gf_struct`` and the committee's
  energy std) against the true frame RMS error.

Every ``--seeds`` value draws its own training/validation frames from the pool and trains its
own committees (training seed = the seed); the test set is the same for all.  The summary is
mean ± sd over the seeds.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/uncertainty_calibration.py cu-bulk water butane \\
        --seeds 1 2 3 --out /tmp/bench-calibration
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import al_harness as H  # noqa: E402
import al_systems as S  # noqa: E402

#: measure name → (harness measure, gradient features, committee)
MEASURES = {
    "committee σ_F": ("committee", "last_layer", "plain"),
    "bootstrap committee σ_F": ("committee", "last_layer", "bootstrap"),
    "last-layer GF σ_i": ("gf_atom", "last_layer", "plain"),
    "sketched GF σ_i": ("gf_atom", "sketch", "plain"),
    "D-optimal grade γ_i": ("dopt", "last_layer", "plain"),
    "last-layer GF σ_E (frame)": ("gf_struct", "last_layer", "plain"),
    "committee σ_E (frame)": ("energy_std", "last_layer", "plain"),
}


def train_models(system: S.System, train: list[Any], valid: list[Any], seed: int) -> dict[str, Any]:
    cfg = H.configs(system)
    out = {}
    for name, bootstrap in (("plain", False), ("bootstrap", True)):
        train_cfg = replace(cfg.train, bootstrap=bootstrap, epochs=max(cfg.train.epochs, 100),
                            patience=30)
        from alearn.train.trainer import train_committee

        out[name], _ = train_committee(train, valid, cfg.descriptor, cfg.model, train_cfg, seed=seed)
    return out


def per_atom_values(measure: str, features: str, model: Any, frames: Sequence[Any],
                    train: Sequence[Any]) -> H.PoolMeasure:
    if measure == "energy_std":  # the committee's energy spread, one value per frame
        prediction = model.predict([a.copy() for a in frames])
        return H.PoolMeasure(None, np.asarray(prediction.energy_std, dtype=float))
    strategy = H.Strategy("calibration", measure=measure, features=features)
    return H.measure_frames(strategy, model, frames, [None] * len(frames), train)


def assess_measure(name: str, models: dict[str, Any], train: list[Any], valid: list[Any],
                   test: list[Any]) -> dict[str, Any]:
    from alearn.select.calibration_quality import assess, miscalibration_area, spearman

    measure, features, which = MEASURES[name]
    model = models[which]
    v_frames, t_frames = [r.atoms for r in valid], [r.atoms for r in test]
    v_err, _ = H.force_errors(model, [H._with_forces(r) for r in valid])
    t_err, _ = H.force_errors(model, [H._with_forces(r) for r in test])
    v = per_atom_values(measure, features, model, v_frames, train)
    t = per_atom_values(measure, features, model, t_frames, train)
    t_rms = np.array([np.sqrt(np.mean(e ** 2)) for e in t_err])
    if v.per_atom is None:
        v_rms = np.array([np.sqrt(np.mean(e ** 2)) for e in v_err])
        fitted = assess(v.frame, v_rms, dof=1)
        return {"measure": name, "level": "frame", "scale": fitted.scale,
                "frame_spearman": spearman(t.frame, t_rms),
                "frame_miscalibration_area": miscalibration_area(t.frame * fitted.scale, t_rms, 1)}
    symbols_v = np.concatenate([a.get_chemical_symbols() for a in v_frames]).tolist()
    fitted = assess(np.concatenate(v.per_atom), np.concatenate(v_err), dof=3, elements=symbols_v)
    symbols_t = np.concatenate([a.get_chemical_symbols() for a in t_frames])
    scales = np.array([fitted.per_element.get(s, fitted.scale) for s in symbols_t])
    t_atom, t_true = np.concatenate(t.per_atom), np.concatenate(t_err)
    trust = H.Trust({int(z): fitted.per_element.get(s, fitted.scale)
                     for a in t_frames for z, s in zip(a.numbers, a.get_chemical_symbols())},
                    0.0, np.inf, {})
    predicted_frame = H.predicted_errors(t, t_frames, trust)
    return {"measure": name, "level": "atom", "scale": fitted.scale,
            "per_element": dict(fitted.per_element),
            "atom_spearman": spearman(t_atom, t_true),
            "atom_miscalibration_area": miscalibration_area(t_atom * scales, t_true, 3),
            "valid_atom_spearman": fitted.spearman,
            "frame_spearman": spearman(predicted_frame, t_rms),
            "frame_ratio_median": float(np.median(predicted_frame / t_rms))}


def assess_or_say_why(name: str, models: dict[str, Any], train: list[Any], valid: list[Any],
                      test: list[Any]) -> dict[str, Any]:
    """:func:`assess_measure`, or a row saying why the measure is undefined here (e.g. the
    D-optimal grade with fewer training atoms than features)."""
    from alearn.errors import UserError

    try:
        return assess_measure(name, models, train, valid, test)
    except UserError as exc:
        return {"measure": name, "level": "n/a", "error": str(exc)}


def run_system(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    system = S.systems()[name]()
    cache = args.out / "cache"
    test_sets = S.test_set(system, 12345, cache)
    first = next(iter(system.test))
    pool = S.test_set(system, 54321, cache)[first]
    rng = np.random.default_rng(seed + 2)
    order = rng.permutation(len(pool))
    train = H.rows_of([pool[i] for i in order[:args.train]])
    valid = H.rows_of([pool[i] for i in order[args.train:args.train + args.valid]])
    test = H.rows_of([a for frames in test_sets.values() for a in frames])
    began = time.perf_counter()
    models = train_models(system, train, valid, seed)
    rows = [assess_or_say_why(m, models, train, valid, test) for m in MEASURES]
    return {"system": name, "seed": seed, "train_frames": len(train), "valid_frames": len(valid),
            "test_frames": len(test), "train_state": first, "rows": rows,
            "seconds": time.perf_counter() - began, "load_average": os.getloadavg()[0]}


def _mean_sd(values: Sequence[float]) -> str:
    x = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if x.size == 0:
        return "—"
    return f"{x.mean():.2f} ± {x.std(ddof=1):.2f}" if x.size > 1 else f"{x[0]:.2f}"


def summary(results: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown rows, one per system and measure: mean ± sd over seeds of the per-atom (or
    per-frame) Spearman, the fitted scale, the miscalibration area and the frame Spearman."""
    lines = []
    systems = list(dict.fromkeys(r["system"] for r in results))
    for system in systems:
        runs = [r for r in results if r["system"] == system]
        for measure in MEASURES:
            got = [row for r in runs for row in r["rows"]
                   if row["measure"] == measure and "error" not in row]
            if not got:
                lines.append(f"| {system} | {measure} | undefined | — | — | — | — | 0 |")
                continue
            atom = got[0]["level"] == "atom"
            rho = [g["atom_spearman" if atom else "frame_spearman"] for g in got]
            area = [g["atom_miscalibration_area" if atom else "frame_miscalibration_area"] for g in got]
            lines.append(f"| {system} | {measure} | {got[0]['level']} | {_mean_sd(rho)} | "
                         f"{_mean_sd([g['scale'] for g in got])} | {_mean_sd(area)} | "
                         f"{_mean_sd([g['frame_spearman'] for g in got])} | {len(got)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="+", choices=sorted(S.systems()))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--train", type=int, default=20)
    parser.add_argument("--valid", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.systems:
        for seed in args.seeds:
            results.append(run_system(name, seed, args))
            (args.out / "calibration.json").write_text(json.dumps(results, indent=1))
            for row in results[-1]["rows"]:
                print(name, seed, json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                              for k, v in row.items()}), flush=True)
    print("| system | measure | level | Spearman (test) | scale (slope) | miscalibration area | "
          "frame Spearman | seeds |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(summary(results)))


if __name__ == "__main__":
    main()
