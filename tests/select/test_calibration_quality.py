"""Scale, Spearman and miscalibration area on synthetic errors of known calibration."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.errors import UserError
from alearn.select.calibration_quality import assess, gaussian_scale, miscalibration_area


def synthetic(n: int, dof: int, factor: float, seed: int = 0):
    """Predicted s and errors e = |N(0, (factor·s)²/dof · I_dof)| (E e² = factor² s²)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.05, 1.0, n)
    e = np.linalg.norm(rng.normal(size=(n, dof)), axis=1) * factor * s / np.sqrt(dof)
    return s, e


@pytest.mark.parametrize("dof", [1, 3])
def test_scale_and_area_of_a_well_specified_measure(dof):
    n = 4000
    s, e = synthetic(n, dof, factor=7.0)
    quality = assess(s, e, dof=dof)
    # relative standard error of the ML scale is about 1/sqrt(2·n·dof)
    assert abs(quality.scale / 7.0 - 1.0) < 4.0 / np.sqrt(2 * n * dof)
    assert quality.miscalibration_area < 0.02
    assert quality.spearman > 0.3
    wrong = miscalibration_area(s * 7.0 * 3.0, e, dof)      # over-wide by 3×
    assert wrong > 0.2


def test_uninformative_measure_has_no_rank_correlation():
    rng = np.random.default_rng(4)
    s = rng.uniform(0.1, 1.0, 3000)
    e = np.abs(rng.normal(size=3000))
    assert abs(assess(s, e).spearman) < 0.1


def test_per_element_scales_and_errors():
    s1, e1 = synthetic(500, 3, factor=2.0, seed=1)
    s2, e2 = synthetic(500, 3, factor=10.0, seed=2)
    elements = ["H"] * 500 + ["O"] * 500
    quality = assess(np.r_[s1, s2], np.r_[e1, e2], dof=3, elements=elements)
    assert abs(quality.per_element["H"] / 2.0 - 1) < 0.1
    assert abs(quality.per_element["O"] / 10.0 - 1) < 0.1
    pooled = gaussian_scale(np.r_[s1, s2], np.r_[e1, e2])
    assert quality.miscalibration_area < miscalibration_area(np.r_[s1, s2] * pooled, np.r_[e1, e2], 3)
    assert "scale" in quality.text("σ")
    with pytest.raises(UserError, match="as many errors"):
        assess([1.0, 2.0], [1.0])
    with pytest.raises(UserError, match="at least 3"):
        assess([1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
