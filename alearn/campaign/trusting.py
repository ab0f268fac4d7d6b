"""Trust in the user's units: ``[select] target_force_error_eV_A``.

Before the walkers of iteration k start, the exploring model (iteration k−1's) is run on the
validation set so far (never trained on, :mod:`alearn.campaign.validation`); its raw measure is
fitted to the true atomic force errors there (:func:`alearn.select.trust.fit_force_calibration`,
per element where an element has at least ``MIN_ATOMS`` validation atoms, with ``aggregate =
"component_rms"``), so every frame's measure *is* its predicted per-component force RMSE in
eV/Å.  The window is then lo = target, hi = ``hi_factor`` × max(target, the model's validation
force RMSE): accurate frames are those predicted to meet the target, and acc% means what it
says; hi follows the model's own error while it is worse than the target, so an early model
still finds frames to learn from (:func:`alearn.select.trust.levels`).

Fallback: with fewer than ``MIN_FRAMES`` validation frames (iteration 1 always: nothing has been
explored before it) the measure's own per-atom values are read as predicted atomic force errors
(scale 1).  For a committee's force spread in eV/Å that is the usual first guess (the spread
of an ensemble is of the order of its error); the record says the fallback was used.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from alearn.campaign.parts import Context
from alearn.campaign.records import TrustRecord
from alearn.errors import UserError

#: validation frames needed for a fit (fewer: the fallback)
MIN_FRAMES = 3
#: validation atoms an element needs for a scale of its own (fewer: the pooled scale)
MIN_ATOMS = 10
FALLBACK = "fallback: fewer than 3 validation frames, the raw measure read as the force error (scale 1)"


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def measured(measure: Any, model: Any, calculator: Any,
             rows: list[Any]) -> tuple[list[Any], list[np.ndarray]]:
    """The raw measure of every row's structure on ``calculator`` and its true atomic force
    errors |F_i − F_i^ref|."""
    values, errors = [], []
    for row in rows:
        atoms = row.atoms.copy()
        atoms.calc = calculator
        forces = atoms.get_forces()
        values.append(measure.evaluate(atoms, dict(calculator.results), model))
        errors.append(np.linalg.norm(np.asarray(forces) - np.asarray(row.labels.forces), axis=1))
    return values, errors


def fit_window(values: list[Any], frames: list[Any], errors: list[np.ndarray], target: float,
               hi_factor: float, follow_error: bool = True) -> tuple[Any, Any, str]:
    """(calibration, levels, source) from the raw measure ``values`` of the validation
    ``frames`` and their true atomic force errors: the fit of every iteration of a campaign
    with a target (the identity fallback with fewer than ``MIN_FRAMES`` frames or a failed
    fit).  hi = hi_factor × max(target, the validation force RMSE) (``follow_error``; else
    hi_factor × target, as before 2026-12-04).  The data-efficiency benchmark calls this too,
    so it measures the campaign's trust."""
    from alearn.select.trust import fit_force_calibration, identity_calibration, levels

    calibration, source = None, FALLBACK
    if len(frames) >= MIN_FRAMES:
        try:
            calibration = fit_force_calibration(values, frames, errors, aggregate="component_rms",
                                                min_atoms=MIN_ATOMS)
            source = "validation"
        except UserError as exc:           # e.g. a measure that is zero on every frame
            source = f"fallback: the fit failed ({exc})"
    if calibration is None:
        calibration = identity_calibration("component_rms")
    current = force_rmse(errors) if follow_error and len(frames) >= MIN_FRAMES else None
    return calibration, levels(target, hi_factor, current), source


def force_rmse(errors: list[np.ndarray]) -> float | None:
    """Per-component force RMSE (eV/Å) of atomic force-error vectors; None without any."""
    if not errors:
        return None
    return float(np.sqrt(np.mean(np.concatenate(errors) ** 2) / 3.0))


def target_trust(ctx: Context, surrogate: Callable[[], Any], fitted: Any,
                 options: Mapping[str, Any]) -> tuple[Any, Any, TrustRecord]:
    """(window, calibrated measure, record) of this iteration for ``[select]
    target_force_error_eV_A``; ``fitted``: the raw measure fitted to the exploring model."""
    from alearn.explore.monitor import TrustWindow
    from alearn.select.trust import CalibratedMeasure

    cfg = ctx.config.select
    target = float(cfg.target_force_error_eV_A)
    rows = [r for r in ctx.store.rows(ids=list(ctx.previous_validation_ids))
            if r.labels.forces is not None]
    values: list[Any] = []
    errors: list[np.ndarray] = []
    if len(rows) >= MIN_FRAMES:
        model = surrogate()
        values, errors = measured(fitted, model, model.as_calculator(**options), rows)
    calibration, window, source = fit_window(values, [r.atoms for r in rows], errors, target,
                                             cfg.hi_factor)
    rmse, predicted = force_rmse(errors), None
    if source == "validation":          # a fit on the validation frames: their predicted RMSE
        frames = [calibration.predict(v, r.atoms.numbers) for v, r in zip(values, rows)]
        atoms = np.array([len(r.atoms) for r in rows], dtype=float)
        predicted = float(np.sqrt(np.sum(atoms * np.array([f.value for f in frames]) ** 2)
                                  / np.sum(atoms)))
    summary = calibration.summary()
    record = TrustRecord(target, window.lo, window.hi, source, calibration.n_frames,
                         float(calibration.scale),
                         {k: float(v) for k, v in summary["per_element"].items()},
                         _finite(calibration.quality.spearman), _finite(calibration.frame_spearman),
                         _finite(calibration.quality.miscalibration_area), rmse, predicted)
    ctx.log.info("trust: target %.4g eV/Å, window [%.4g, %.4g), %s, scale %.3g %s", target,
                 window.lo, window.hi, source, calibration.scale, dict(record.per_element))
    return TrustWindow(window.lo, window.hi), CalibratedMeasure(fitted, calibration), record


__all__ = ["FALLBACK", "MIN_ATOMS", "MIN_FRAMES", "fit_window", "measured", "target_trust"]
