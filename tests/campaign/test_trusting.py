"""[select] target_force_error_eV_A: the window from a calibration on the validation set."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from alearn.campaign.trusting import FALLBACK, target_trust
from alearn.select.protocol import MeasureValue

SCALE = 2.0          # the true atomic error is this many times the raw spread


class _Noisy(Calculator):
    """Reference forces plus Gaussian errors of mean square (SCALE σ_i)², reporting σ_i."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, reference: dict[bytes, np.ndarray]) -> None:
        super().__init__()
        self.reference = reference

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        key = np.round(self.atoms.positions, 6).tobytes()
        rng = np.random.default_rng(abs(hash(key)) % 2**32)
        sigma = np.where(self.atoms.numbers == 1, 0.05, 0.2)
        noise = rng.normal(size=(len(self.atoms), 3)) * (SCALE * sigma / np.sqrt(3))[:, None]
        self.results = {"energy": 0.0, "forces": self.reference[key] + noise, "forces_std": sigma}


class _Spread:
    params = SimpleNamespace(kind="max_force_std")

    def evaluate(self, atoms: Atoms, results: dict, surrogate=None) -> MeasureValue:
        per_atom = np.asarray(results["forces_std"], dtype=float)
        return MeasureValue(float(per_atom.max()), per_atom)


def _rows(n: int) -> list[SimpleNamespace]:
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n):
        atoms = Atoms("OH2" * 6, positions=rng.uniform(0, 8, (18, 3)))
        rows.append(SimpleNamespace(id=k + 1, atoms=atoms,
                                    labels=SimpleNamespace(forces=rng.normal(size=(18, 3)))))
    return rows


def _context(rows: list[SimpleNamespace]) -> SimpleNamespace:
    store = SimpleNamespace(rows=lambda ids: [r for r in rows if r.id in ids])
    select = SimpleNamespace(target_force_error_eV_A=0.1, hi_factor=5.0)
    return SimpleNamespace(config=SimpleNamespace(select=select), store=store, log=logging.getLogger("t"),
                           previous_validation_ids=tuple(r.id for r in rows))


def _surrogate(rows: list[SimpleNamespace]):
    reference = {np.round(r.atoms.positions, 6).tobytes(): r.labels.forces for r in rows}
    model = SimpleNamespace(as_calculator=lambda **options: _Noisy(reference))
    return lambda: model


def test_window_comes_from_the_target_and_the_fit_per_element() -> None:
    rows = _rows(8)
    window, measure, record = target_trust(_context(rows), _surrogate(rows), _Spread(), {})
    # hi follows the model's validation error while it misses the target (5 × max(0.1, RMSE))
    hi = 5.0 * max(0.1, record.validation_force_rmse_eV_A)
    assert record.validation_force_rmse_eV_A > 0.1
    assert (window.lo, window.hi) == (record.lo, record.hi) == (0.1, pytest.approx(hi))
    assert record.source == "validation" and record.frames == 8
    assert record.per_element["H"] == pytest.approx(SCALE, rel=0.2)
    assert record.per_element["O"] == pytest.approx(SCALE, rel=0.2)
    assert record.miscalibration_area is not None and record.miscalibration_area < 0.1
    # the calibrated measure predicts the per-component force RMSE of a frame
    atoms = rows[0].atoms.copy()
    atoms.calc = _surrogate(rows)().as_calculator()
    atoms.get_forces()
    value = measure.evaluate(atoms, dict(atoms.calc.results))
    sigma = np.where(atoms.numbers == 1, 0.05, 0.2)
    expected = np.sqrt(np.mean((record.per_element["H"] * sigma) ** 2 * (atoms.numbers == 1)
                               + (record.per_element["O"] * sigma) ** 2 * (atoms.numbers == 8)) / 3)
    assert value.value == pytest.approx(expected)
    assert record.predicted_force_rmse_eV_A == pytest.approx(record.validation_force_rmse_eV_A, rel=0.15)


def test_without_validation_frames_the_fallback_is_used_and_recorded() -> None:
    rows = _rows(2)
    window, measure, record = target_trust(_context(rows), _surrogate(rows), _Spread(), {})
    assert record.source == FALLBACK and record.scale == 1.0 and record.frames == 0
    assert (window.lo, window.hi) == (0.1, pytest.approx(0.5))
    value = measure.evaluate(rows[0].atoms, {"forces_std": np.full(18, 0.3)})
    assert value.value == pytest.approx(0.3 / np.sqrt(3))
