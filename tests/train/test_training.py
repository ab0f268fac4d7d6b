"""Training reaches tight errors on small problems; early stopping, bootstrap, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.models.committee import Committee
from alearn.train.metrics import evaluate_surrogate
from alearn.train.trainer import train_committee

DIMER = DescriptorConfig(radial_cutoff_A=3.0, angular_cutoff_A=0.0, radial_order=10, angular_order=0)
CU = DescriptorConfig(radial_cutoff_A=4.0, angular_cutoff_A=3.0, radial_order=6, angular_order=3)


def test_lj_dimer_force_training_is_tight(lj_data):
    train = lj_data(np.linspace(1.0, 2.0, 12))
    test = lj_data(np.linspace(1.02, 1.98, 25))
    model, report = train_committee(
        train, [], DIMER, CommitteeConfig(members=2, hidden=(12, 12), activation="softplus"),
        TrainConfig(epochs=60, force_weight=0.5, optimizer="lbfgs", learning_rate=1.0,
                    validation_fraction=0.0, patience=0), seed=1)
    assert model.spec.n_features == 11
    metrics = evaluate_surrogate(model, test)
    assert metrics["energy_mae_eV_atom"] < 0.02
    assert metrics["force_mae_eV_A"] < 0.15
    assert report.n_train == 12


def test_emt_copper_energy_and_forces(cu_data):
    data = cu_data(24)
    model, report = train_committee(
        data[:20], data[20:], CU, CommitteeConfig(members=2, hidden=(10, 10)),
        TrainConfig(epochs=60, force_weight=0.3, learning_rate=5e-3, batch_size=4, patience=0),
        seed=0)
    valid = report.valid_metrics
    ref_forces = np.concatenate([s.labels.forces for s in data[20:]])
    assert valid["energy_mae_eV_atom"] < 0.01
    assert valid["force_mae_eV_A"] < 0.35 * np.abs(ref_forces).mean()
    assert "pressure_rmse_GPa" in valid and "force_angle_mae_deg" in valid


def test_best_validation_weights_are_kept(cu_data):
    data = cu_data(10)
    seen = []
    model, report = train_committee(
        data[:8], data[8:], CU, CommitteeConfig(members=3, hidden=(4,)),
        TrainConfig(epochs=15, learning_rate=0.05, batch_size=2, patience=0, bootstrap=True),
        seed=3, progress=lambda epoch, rec: seen.append(rec))
    assert len(seen) == 15 and report.epochs == 15
    # the kept weights reproduce each member's best validation score
    from alearn.train.losses import batch_terms, member_losses
    from alearn.train.prepare import prepare
    import torch
    prepared = prepare(data[8:], model.spec, dtype=torch.float64, device="cpu", force_fraction=1.0,
                       rng=np.random.default_rng(0))
    terms = batch_terms(model, prepared, forces=False, stress=False, create_graph=False)
    scores = member_losses(terms, torch.ones(3, 2, dtype=torch.float64), 1.0, 0.0, 0.0)
    np.testing.assert_allclose(scores.detach().numpy(), report.best_validation, rtol=1e-9)


def test_warm_start_continues_from_earlier_model(cu_data):
    data = cu_data(12)
    cfg = TrainConfig(epochs=20, learning_rate=5e-3, batch_size=4, patience=0)
    first, r1 = train_committee(data[:10], data[10:], CU, CommitteeConfig(members=2, hidden=(6,)), cfg, seed=0)
    second, r2 = train_committee(data[:10], data[10:], CU, CommitteeConfig(members=2, hidden=(6,)),
                                 TrainConfig(epochs=1, learning_rate=1e-9, patience=0), seed=5,
                                 warm_start=first)
    assert isinstance(second, Committee) and second is not first
    assert r2.valid_metrics["energy_mae_eV_atom"] == pytest.approx(r1.valid_metrics["energy_mae_eV_atom"], rel=1e-3)


def test_force_structure_and_component_fractions(cu_data):
    import torch

    from alearn.descriptors.chebyshev import ChebyshevSpec
    from alearn.train.prepare import prepare

    data = cu_data(10)
    spec = ChebyshevSpec(("Cu",), 4.0, 3.0, 4, 2)
    prepared = prepare(data, spec, dtype=torch.float64, device="cpu", force_fraction=0.25,
                       rng=np.random.default_rng(0), structure_fraction=0.3)
    kept = [p for p in prepared if p.forces is not None]
    assert len(kept) == 3
    share = np.mean([p.force_mask.float().mean().item() for p in kept])
    assert 0.1 < share < 0.4


def test_monitor_records_validation_pressure_error_during_training(cu_data):
    """Seed 001: the pressure error is monitored during training even when not in the loss,
    every ``monitor_every`` epochs and at the last; it scores that epoch's weights."""
    data = cu_data(8)
    seen = []
    train_committee(data[:6], data[6:], CU, CommitteeConfig(members=1, hidden=(4,)),
                    TrainConfig(epochs=5, learning_rate=0.02, batch_size=3, patience=0, monitor_every=2),
                    seed=2, progress=lambda epoch, rec: seen.append(rec))
    assert [int(r["epoch"]) for r in seen if "valid_pressure_rmse_GPa" in r] == [0, 2, 4]
    for r in seen[::2]:
        assert r["valid_pressure_rmse_GPa"] >= 0 and np.isfinite(r["valid_force_rmse_eV_A"])
        assert -1.0 <= r["valid_pressure_r"] <= 1.0
    once = []   # one epoch: the monitored weights are the kept ones
    model, _ = train_committee(data[:6], data[6:], CU, CommitteeConfig(members=1, hidden=(4,)),
                               TrainConfig(epochs=1, batch_size=3, patience=0, monitor_every=3),
                               seed=2, progress=lambda epoch, rec: once.append(rec))
    final = evaluate_surrogate(model, data[6:])
    assert once[0]["valid_pressure_rmse_GPa"] == pytest.approx(final["pressure_rmse_GPa"], rel=1e-9)
    assert once[0]["valid_energy_rmse_eV_atom"] == pytest.approx(final["energy_rmse_eV_atom"], rel=1e-9)


def test_lbfgs_keeps_fitting_small_energy_differences():
    """L-BFGS on meV-sized energies (loss ~1e-8 eV²/atom²): the loss must keep falling.

    torch's absolute tolerances (largest gradient 1e-7, loss change 1e-9) used to end every
    step at once here, leaving the loss flat after the second step; alearn scales the loss."""
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    calc = LennardJones(epsilon=0.01, sigma=1.0, rc=3.0, smooth=False)
    data = []
    for d in np.linspace(1.05, 2.0, 12):
        atoms = Atoms("H2", positions=[[-d / 2, 0, 0], [d / 2, 0, 0]], calculator=calc)
        labels = Labels(energy=float(atoms.get_potential_energy()), forces=atoms.get_forces().copy())
        atoms.calc = None
        data.append(LabelledStructure(atoms, labels, Provenance(Source.REFERENCE)))
    losses = []
    model, _ = train_committee(
        data, [], DIMER, CommitteeConfig(members=1, hidden=(8, 8), activation="tanh"),
        TrainConfig(epochs=12, optimizer="lbfgs", learning_rate=1.0, validation_fraction=0.0,
                    patience=0), seed=1, progress=lambda epoch, rec: losses.append(rec["train_loss"]))
    assert losses[1] < 1e-6  # the regime of the stall: tiny absolute loss
    assert losses[-1] < 1e-3 * losses[1]
    assert all(b <= a for a, b in zip(losses[1:], losses[2:]))
    assert evaluate_surrogate(model, data)["energy_mae_eV_atom"] < 1e-5
