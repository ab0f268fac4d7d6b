"""Calibrating the uncertainty measure against true errors of newly labelled structures.

After each labelling round the loop knows, for every labelled structure, the surrogate's
predicted spread (the selection measure at that frame) and the true error of the surrogate
against the reference (e.g. max_i |F_i^pred − F_i^ref| for force measures).
:func:`calibrate` fits ``true ≈ slope · predicted`` (least squares through the origin),
reports how well the spread ranks the errors (Pearson and Spearman correlation), and turns a
target error into a suggested lower trust level ``lo = target_error / slope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import stats

from alearn.errors import UserError


@dataclass(frozen=True)
class CalibrationReport:
    """How the predicted spread relates to the true error."""

    n: int
    slope: float                     # true ≈ slope · predicted
    pearson: float
    spearman: float
    median_ratio: float              # median of true / predicted
    target_error: float | None
    suggested_lo: float | None       # target_error / slope

    def text(self) -> str:
        lines = [f"calibration on {self.n} labelled structures: true error ≈ "
                 f"{self.slope:.3g} × predicted spread (median ratio {self.median_ratio:.3g}); "
                 f"Pearson {self.pearson:.2f}, Spearman {self.spearman:.2f}"]
        if self.suggested_lo is not None:
            lines.append(f"target error {self.target_error:g} → lower trust level "
                         f"lo = {self.suggested_lo:.4g}")
        return "\n".join(lines)


def calibrate(predicted: Sequence[float], true: Sequence[float],
              target_error: float | None = None) -> CalibrationReport:
    """Fit the true errors against the predicted spreads (see module docstring)."""
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    t = np.asarray(true, dtype=np.float64).reshape(-1)
    if p.shape != t.shape:
        raise UserError(f"calibration needs as many true errors ({t.size}) as predicted "
                        f"spreads ({p.size})")
    ok = np.isfinite(p) & np.isfinite(t) & (p > 0)
    p, t = p[ok], t[ok]
    if p.size < 3:
        raise UserError(f"calibration needs at least 3 labelled structures with a positive "
                        f"predicted spread; got {p.size}")
    slope = float(np.dot(p, t) / np.dot(p, p))
    constant = np.ptp(p) == 0 or np.ptp(t) == 0
    pearson = float("nan") if constant else float(stats.pearsonr(p, t)[0])
    spearman = float("nan") if constant else float(stats.spearmanr(p, t)[0])
    lo = None if target_error is None or slope <= 0 else float(target_error / slope)
    return CalibrationReport(int(p.size), slope, pearson, spearman, float(np.median(t / p)),
                             target_error, lo)


def calibrate_on_labelled(rows: Sequence[Any], calculator: Any, measure: Any,
                          target_error: float) -> CalibrationReport:
    """Calibrate ``measure`` of ``calculator`` on labelled rows it was not trained on.

    ``rows`` are :class:`~alearn.data.records.LabelledStructure` (the campaign's held-out
    reference structures); the spread is what the measure reads from the calculator's results,
    the true error the measure's own ``true_error`` against the reference labels.
    """
    predicted, true = [], []
    surrogate = getattr(calculator, "surrogate", None)
    for row in rows:
        atoms = row.atoms.copy()
        atoms.calc = calculator
        atoms.get_forces()
        results = atoms.calc.results
        error = measure.true_error(atoms, results, row.labels)
        if error is None:
            raise UserError(f"the measure {measure.params.kind!r} has no true-error counterpart "
                            "and cannot be calibrated; choose another [select] measure")
        predicted.append(measure.evaluate(atoms, results, surrogate).value)
        true.append(error)
    return calibrate(predicted, true, target_error)
