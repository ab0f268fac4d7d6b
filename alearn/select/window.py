"""The trust window of an iteration, read once: ``[select] trust`` adapted by a calibration
(``adaptive = "calibrated"``), before exploration, so walkers classify every frame once and
selection reads their classes; and the ``top_n`` lower level for promoting accurate frames."""

from __future__ import annotations

from typing import Any

import numpy as np

from alearn.explore.monitor import TrustWindow
from alearn.select.calibration import CalibrationReport


def trust_window(cfg: Any, calibration: CalibrationReport | None = None) -> TrustWindow:
    """``[select] trust`` (``cfg`` is [select]), its lower level replaced by the calibration's
    suggestion when ``adaptive = "calibrated"`` (kept below ``hi``)."""
    lo, hi = cfg.trust.lo, cfg.trust.hi
    if cfg.adaptive == "calibrated" and calibration is not None and calibration.suggested_lo is not None:
        lo = min(max(calibration.suggested_lo, 0.0), np.nextafter(hi, 0.0))
    return TrustWindow(float(lo), float(hi))


def top_n_lo(values: np.ndarray, window: TrustWindow, budget: int) -> float:
    """``adaptive = "top_n"``: the lower level at which the ``budget`` most uncertain sane frames
    below ``hi`` are candidates (``window.lo`` when enough frames reach it already);
    ``values``: measures of all sane frames."""
    below = np.sort(values[values < window.hi])[::-1]
    if len(below) and np.sum(below >= window.lo) < budget:
        return float(min(window.lo, below[min(budget, len(below)) - 1]))
    return float(window.lo)
