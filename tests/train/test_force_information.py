"""On one small problem, force errors order as energy-only > Taylor-augmented > direct force
training (seed 000's central result), with the same networks and epochs."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.augment.taylor import taylor_augment
from alearn.config.ann import CommitteeConfig, DescriptorConfig, TaylorConfig, TrainConfig
from alearn.train.metrics import evaluate_surrogate
from alearn.train.trainer import train_committee

CU = DescriptorConfig(radial_cutoff_A=4.5, angular_cutoff_A=3.0, radial_order=8, angular_order=3)


@pytest.mark.slow
def test_force_error_orders_energy_only_taylor_direct(cu_data):
    data = cu_data(46, seed=4, rattle=0.12)
    train, valid, test = data[:12], data[12:16], data[16:]
    model_cfg = CommitteeConfig(members=1, hidden=(12, 12))
    common = dict(epochs=300, learning_rate=3e-3, batch_size=8, patience=0)
    augmented = train + taylor_augment(train, TaylorConfig(strategy="B", multiple=24, delta_A=0.03),
                                       np.random.default_rng(0))
    errors = {}
    for name, rows, alpha in (("energy", train, 0.0), ("taylor", augmented, 0.0),
                              ("direct", train, 0.5)):
        model, _ = train_committee(rows, valid, CU, model_cfg,
                                   TrainConfig(force_weight=alpha, **common), seed=0)
        errors[name] = evaluate_surrogate(model, test)["force_mae_eV_A"]
    assert errors["energy"] > errors["taylor"] > errors["direct"], errors
