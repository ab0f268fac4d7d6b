"""How well an uncertainty measure predicts the true error, and its scale in the user's units.

For a raw measure s and true errors e on data never trained on:

- **scale** a (the "slope" of SCIENCE.md §5): the Gaussian maximum-likelihood factor with
  ŝ = a·s, a² = mean(e²/s²) — for a vector error of ``dof`` components whose predicted mean
  square norm is ŝ² (per-atom forces: dof = 3, ŝ² = E|ΔF_i|²) as for a scalar (dof = 1);
- **Spearman** rank correlation between s and e (what selection by uncertainty relies on);
- **miscalibration area**: with ŝ, the errors' normalised squares dof·e²/ŝ² should follow χ²
  with ``dof`` degrees of freedom; the area is ∫₀¹ |observed fraction inside the p-quantile − p| dp
  (0: perfect; 0.5: worst), the usual "area between the calibration curve and the diagonal".

:func:`assess` computes all three, per element as well where atomic values are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from alearn.errors import UserError


@dataclass(frozen=True)
class Quality:
    """Calibration of one measure on one set of errors."""

    n: int                       # error values used
    scale: float                 # a: ŝ = a · s (Gaussian maximum likelihood)
    spearman: float              # rank correlation of s and e (nan if constant)
    miscalibration_area: float   # of the scaled measure, 0 … 0.5
    per_element: Mapping[str, float] = field(default_factory=dict)   # element → its scale

    def text(self, name: str = "measure") -> str:
        elements = ", ".join(f"{e} {v:.3g}" for e, v in sorted(self.per_element.items()))
        return (f"{name}: scale {self.scale:.3g}{' (' + elements + ')' if elements else ''}, "
                f"Spearman {self.spearman:.2f}, miscalibration area {self.miscalibration_area:.3f}"
                f" on {self.n} values")


def gaussian_scale(predicted: np.ndarray, error: np.ndarray) -> float:
    """a with a² = mean(e² / s²) (maximum likelihood for ŝ = a·s, any number of components when
    e is the norm of the error vector and s² its predicted mean square)."""
    s, e = _clean(predicted, error)
    return float(np.sqrt(np.mean(e ** 2 / s ** 2)))


def miscalibration_area(predicted: np.ndarray, error: np.ndarray, dof: int = 1,
                        levels: int = 99) -> float:
    """Area between the observed and expected coverage of ``predicted`` (already in the unit
    of ``error``; ŝ² = E e²), see the module docstring."""
    s, e = _clean(predicted, error)
    z = dof * e ** 2 / s ** 2
    p = np.linspace(0.0, 1.0, levels + 2)[1:-1]
    observed = np.array([np.mean(z <= stats.chi2.ppf(q, dof)) for q in p])
    return float(np.mean(np.abs(observed - p)))


def spearman(predicted: np.ndarray, error: np.ndarray) -> float:
    s, e = _clean(predicted, error)
    if np.ptp(s) == 0 or np.ptp(e) == 0:
        return float("nan")
    return float(stats.spearmanr(s, e)[0])


def assess(predicted: Sequence[float], error: Sequence[float], *, dof: int = 1,
           elements: Sequence[str] | None = None, min_per_element: int = 10) -> Quality:
    """Scale, Spearman and miscalibration area of ``predicted`` against ``error``; with
    ``elements`` (one symbol per value) also the scale of each element with at least
    ``min_per_element`` values."""
    s, e = _clean(predicted, error)
    scale = gaussian_scale(s, e)
    per: dict[str, float] = {}
    if elements is not None:
        symbols = np.asarray(elements)[_finite_mask(predicted, error)]
        for symbol in sorted(set(symbols.tolist())):
            mask = symbols == symbol
            if mask.sum() >= min_per_element:
                per[symbol] = gaussian_scale(s[mask], e[mask])
    scaled = s * np.array([per.get(x, scale) for x in symbols]) if per else s * scale
    return Quality(int(s.size), scale, spearman(s, e), miscalibration_area(scaled, e, dof), per)


def _finite_mask(predicted: Sequence[float], error: Sequence[float]) -> np.ndarray:
    s = np.asarray(predicted, dtype=np.float64).reshape(-1)
    e = np.asarray(error, dtype=np.float64).reshape(-1)
    if s.shape != e.shape:
        raise UserError(f"calibration needs as many errors ({e.size}) as predicted values ({s.size})")
    return np.isfinite(s) & np.isfinite(e) & (s > 0)


def _clean(predicted: Sequence[float], error: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    mask = _finite_mask(predicted, error)
    s = np.asarray(predicted, dtype=np.float64).reshape(-1)[mask]
    e = np.asarray(error, dtype=np.float64).reshape(-1)[mask]
    if s.size < 3:
        raise UserError(f"calibration needs at least 3 values with a positive finite prediction; got {s.size}")
    return s, e


__all__ = ["Quality", "assess", "gaussian_scale", "miscalibration_area", "spearman"]
