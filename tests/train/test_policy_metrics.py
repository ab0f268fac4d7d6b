"""Architecture policy, force-weight schedule, metrics on hand-made cases, Surrogate protocol."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.config.ann import TrainConfig
from alearn.models.prediction import Prediction, Surrogate
from alearn.train.metrics import error_metrics, force_metrics, stress_metrics
from alearn.train.policy import auto_hidden, target_weights, weights_of
from alearn.train.trainer import _Fit


def test_auto_architecture_follows_seed_002_numbers():
    assert target_weights(1000) == pytest.approx(600, rel=0.01)
    assert target_weights(75000) == pytest.approx(4000, rel=0.01)
    assert target_weights(1) == 120
    for n in (100, 1000, 10000, 75000):
        hidden = auto_hidden(n, 48)
        assert len(hidden) == 2 and hidden[0] == hidden[1]
        assert weights_of(48, hidden) == pytest.approx(target_weights(n), rel=0.25)
    assert auto_hidden(75000, 48)[0] > auto_hidden(1000, 48)[0]


def test_force_weight_schedule_divides_every_n_epochs():
    fit = _Fit.__new__(_Fit)
    fit.cfg = TrainConfig(force_weight=0.5, force_weight_decay_every=3, force_weight_decay_factor=10.0)
    assert [fit.force_weight(e) for e in (0, 2, 3, 6)] == pytest.approx([0.5, 0.5, 0.05, 0.005])


def test_force_metrics_angle_and_vector_error():
    ref = [np.array([[1.0, 0, 0], [0, 2.0, 0], [0.01, 0, 0]])]
    pred = [np.array([[0, 1.0, 0], [0, 2.0, 0], [0, 0.01, 0]])]
    m = force_metrics(pred, ref)
    assert m["force_angle_mae_deg"] == pytest.approx(45.0)   # 90° and 0°; tiny force ignored
    assert m["force_vector_mae_eV_A"] == pytest.approx((np.sqrt(2) + 0 + np.sqrt(2) * 0.01) / 3)
    assert m["force_mae_eV_A"] == pytest.approx((1 + 1 + 0.02) / 9)


def test_stress_metrics_in_gpa_and_pressure_correlation():
    from ase.units import GPa

    ref = np.array([[1, 1, 1, 0, 0, 0], [2, 2, 2, 0, 0, 0], [3, 3, 3, 0, 0, 0]], float) * GPa
    m = stress_metrics(ref * 1.1, ref)
    assert m["pressure_r"] == pytest.approx(1.0)
    assert m["pressure_rmse_GPa"] == pytest.approx(0.1 * np.sqrt((1 + 4 + 9) / 3))


def test_error_metrics_energy_per_atom(make_labelled):
    rows = make_labelled()
    pred = Prediction(energy=np.array([s.labels.energy + 0.2 for s in rows]),
                      forces=tuple(s.labels.forces for s in rows), energy_std=np.zeros(len(rows)))
    m = error_metrics(rows, pred)
    assert m["energy_mae_eV_atom"] == pytest.approx(0.2 / 4)
    assert m["force_mae_eV_A"] == 0.0


def test_committee_is_a_surrogate(cu_data):
    from alearn.descriptors.chebyshev import ChebyshevSpec
    from alearn.models.committee import Committee

    assert isinstance(Committee(ChebyshevSpec(("Cu",), 4.0, 3.0, 3, 2), (3,), "tanh", 2), Surrogate)


@pytest.fixture
def make_labelled(cu_data):
    return lambda: cu_data(3)
