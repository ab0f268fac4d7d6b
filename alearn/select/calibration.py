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


#: measures whose value has a true-error counterpart, and how that error is computed
CALIBRATED_MEASURES = ("max_force_std", "energy_std_per_atom", "gpr_std")


def true_error(measure: str, atoms: Any, energy: float, forces: np.ndarray | None) -> float:
    """The surrogate's actual error on a labelled structure, in the unit of ``measure``.

    ``atoms.calc`` holds the surrogate's results; ``energy``/``forces`` are the reference labels.
    max_force_std → max_i |F_i − F_i^ref| (eV/Å); energy_std_per_atom → |ΔE|/N; gpr_std → |ΔE|.
    """
    if measure == "max_force_std":
        if forces is None:
            raise UserError("calibrating 'max_force_std' needs reference forces in the held-out data")
        return float(np.max(np.linalg.norm(atoms.get_forces() - forces, axis=1)))
    delta = abs(float(atoms.get_potential_energy()) - energy)
    if measure == "energy_std_per_atom":
        return delta / len(atoms)
    if measure == "gpr_std":
        return delta
    raise UserError(f"the measure {measure!r} cannot be calibrated against a true error; "
                    f"use one of {', '.join(CALIBRATED_MEASURES)}")


def calibrate_on_labelled(rows: Sequence[Any], calculator: Any, measure: Any,
                          target_error: float) -> CalibrationReport:
    """Calibrate ``measure`` of ``calculator`` on labelled rows it was not trained on.

    ``rows`` are :class:`~alearn.data.records.LabelledStructure` (the campaign's held-out
    reference structures); the spread is what the measure reads from the calculator's results.
    """
    predicted, true = [], []
    for row in rows:
        atoms = row.atoms.copy()
        atoms.calc = calculator
        atoms.get_forces()
        predicted.append(measure.evaluate(atoms.calc.results, atoms.numbers).value)
        true.append(true_error(measure.kind, atoms, row.labels.energy, row.labels.forces))
    return calibrate(predicted, true, target_error)
