"""Calibrated trust: per-element scales recovered from synthetic errors, predicted frame errors
in eV/Å, the wrapped measure and the derived window."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from alearn.select.protocol import Measure, MeasureValue
from alearn.select.trust import CalibratedMeasure, evaluate_frames, fit_force_calibration, levels


def synthetic(n_frames: int = 200, seed: int = 0):
    """Water-like frames (O, H, H) with per-atom measures s and errors of scale 2 (O), 5 (H)."""
    rng = np.random.default_rng(seed)
    frames, values, errors = [], [], []
    for _ in range(n_frames):
        atoms = Atoms("OH2", positions=rng.normal(size=(3, 3)))
        s = rng.uniform(0.05, 0.5, 3)
        a = np.array([2.0, 5.0, 5.0])
        e = np.linalg.norm(rng.normal(size=(3, 3)), axis=1) * a * s / np.sqrt(3)
        frames.append(atoms)
        values.append(MeasureValue(float(s.max()), s))
        errors.append(e)
    return frames, values, errors


def test_per_element_scales_and_predicted_frame_errors():
    frames, values, errors = synthetic()
    cal = fit_force_calibration(values, frames, errors, aggregate="rms")
    assert cal.per_atom and cal.scales[8] == pytest.approx(2.0, rel=0.15)
    assert cal.scales[1] == pytest.approx(5.0, rel=0.15)
    got = cal.predict(values[0], frames[0].numbers)
    expected = np.array([cal.scales[8], cal.scales[1], cal.scales[1]]) * values[0].per_atom
    np.testing.assert_allclose(got.per_atom, expected)
    assert got.value == pytest.approx(np.sqrt(np.mean(expected ** 2)))
    worst = fit_force_calibration(values, frames, errors, aggregate="max").predict(values[0], frames[0].numbers)
    assert worst.value == pytest.approx(expected.max())
    assert cal.frame_spearman > 0.3 and cal.n_frames == 200
    assert set(cal.summary()["per_element"]) == {"H", "O"}


def test_frame_level_measure_gets_one_scale():
    frames, values, errors = synthetic()
    frame_values = [MeasureValue(v.value) for v in values]
    cal = fit_force_calibration(frame_values, frames, errors)
    assert not cal.per_atom and cal.scales == {}
    assert cal.predict(frame_values[0], frames[0].numbers).value == pytest.approx(cal.scale * values[0].value)


class Constant(Measure):
    """A fake measure: per-atom value = 0.1 × atom index + 0.1."""

    def evaluate(self, atoms, results, surrogate=None):
        per = 0.1 * (np.arange(len(atoms)) + 1.0)
        return MeasureValue(float(per.max()), per)


def test_calibrated_measure_reports_predicted_errors_and_levels():
    frames, values, errors = synthetic()
    cal = fit_force_calibration(values, frames, errors)
    wrapped = CalibratedMeasure(Constant(params=None), cal)
    atoms = Atoms("OH2", positions=np.eye(3))
    got = wrapped.evaluate(atoms, {})
    np.testing.assert_allclose(got.per_atom, [0.1 * cal.scales[8], 0.2 * cal.scales[1], 0.3 * cal.scales[1]])
    window = levels(0.1, 20.0)
    assert (window.lo, window.hi) == (0.1, pytest.approx(2.0))

    class Surrogate:
        def as_calculator(self):
            from ase.calculators.emt import EMT
            return EMT()

    batch = evaluate_frames(wrapped, Surrogate(), [atoms, atoms])
    assert batch[1].value == pytest.approx(got.value)
