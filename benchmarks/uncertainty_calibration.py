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
  measure; the frame measure itself for ``gf_struct``) against the true frame RMS error.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/uncertainty_calibration.py cu-bulk water butane \\
        --out /tmp/bench-calibration
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
}


def train_models(system: S.System, train: list[Any], valid: list[Any]) -> dict[str, Any]:
    cfg = H.configs(system)
    out = {}
    for name, bootstrap in (("plain", False), ("bootstrap", True)):
        train_cfg = replace(cfg.train, bootstrap=bootstrap, epochs=max(cfg.train.epochs, 100),
                            patience=30)
        from alearn.train.trainer import train_committee

        out[name], _ = train_committee(train, valid, cfg.descriptor, cfg.model, train_cfg, seed=11)
    return out


def per_atom_values(measure: str, features: str, model: Any, frames: Sequence[Any],
                    train: Sequence[Any]) -> H.PoolMeasure:
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


def run_system(name: str, args: argparse.Namespace) -> dict[str, Any]:
    system = S.systems()[name]()
    cache = args.out / "cache"
    test_sets = S.test_set(system, 12345, cache)
    first = next(iter(system.test))
    pool = S.test_set(system, 54321, cache)[first]
    rng = np.random.default_rng(3)
    order = rng.permutation(len(pool))
    train = H.rows_of([pool[i] for i in order[:args.train]])
    valid = H.rows_of([pool[i] for i in order[args.train:args.train + args.valid]])
    test = H.rows_of([a for frames in test_sets.values() for a in frames])
    began = time.perf_counter()
    models = train_models(system, train, valid)
    rows = [assess_measure(m, models, train, valid, test) for m in MEASURES]
    return {"system": name, "train_frames": len(train), "valid_frames": len(valid),
            "test_frames": len(test), "train_state": first, "rows": rows,
            "seconds": time.perf_counter() - began, "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="+", choices=sorted(S.systems()))
    parser.add_argument("--train", type=int, default=20)
    parser.add_argument("--valid", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.systems:
        results.append(run_system(name, args))
        (args.out / "calibration.json").write_text(json.dumps(results, indent=1))
        for row in results[-1]["rows"]:
            print(name, json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                    for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
