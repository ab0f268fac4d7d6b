"""alearn train SPEC.toml → model directory; alearn evaluate MODEL DATA [--json]."""

from __future__ import annotations

import json

import ase.io
from ase.calculators.singlepoint import SinglePointCalculator

from alearn.cli import main


def write_extxyz(path, structures):
    frames = []
    for s in structures:
        atoms = s.atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=s.labels.energy, forces=s.labels.forces,
                                           stress=s.labels.stress)
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")


SPEC = """
seed = 2
[data]
train = ["train.xyz"]
valid = ["valid.xyz"]
[descriptor]
radial_cutoff_A = 4.0
angular_cutoff_A = 3.0
radial_order = 5
angular_order = 2
[model]
members = 2
hidden = [5]
[train]
epochs = 5
batch_size = 4
[augment]
kind = "taylor"
multiple = 2
delta_A = 0.01
[output]
directory = "model"
"""


def test_train_then_evaluate(tmp_path, cu_data, capsys):
    data = cu_data(8)
    write_extxyz(tmp_path / "train.xyz", data[:6])
    write_extxyz(tmp_path / "valid.xyz", data[6:])
    (tmp_path / "spec.toml").write_text(SPEC)
    assert main(["train", str(tmp_path / "spec.toml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "on 18 structures (2 validation)" in out
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["training"]["n_train"] == 18 and "valid" in manifest["metrics"]
    assert main(["evaluate", str(tmp_path / "model"), str(tmp_path / "valid.xyz"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_structures"] == 2
    for key in ("energy_mae_eV_atom", "force_rmse_eV_A", "force_angle_mae_deg", "pressure_rmse_GPa"):
        assert key in metrics


def test_spec_errors_name_the_key(tmp_path, capsys):
    (tmp_path / "spec.toml").write_text("[data]\ntrain = ['missing.xyz']\n")
    assert main(["train", str(tmp_path / "spec.toml")]) == 2
    assert "data.train" in capsys.readouterr().err
    (tmp_path / "spec.toml").write_text("[data]\nstore = 'x.db'\n[model]\nhiden = [3]\n")
    assert main(["train", str(tmp_path / "spec.toml")]) == 2
    assert "did you mean 'hidden'" in capsys.readouterr().err


STORE_SPEC = """
[data]
store = "store.db"
[descriptor]
radial_cutoff_A = 4.0
angular_cutoff_A = 3.0
radial_order = 4
angular_order = 2
[model]
members = 2
hidden = [4]
[train]
epochs = 3
stress_weight = 1e-4
force_weight = 0.2
"""


def test_train_from_store_with_stress_term_and_evaluate_store(tmp_path, cu_data, capsys):
    from alearn.data.store import Store

    with Store.open(tmp_path / "store.db") as store:
        for s in cu_data(6):
            store.add(s.atoms, s.labels, s.provenance)
    (tmp_path / "spec.toml").write_text(STORE_SPEC)
    assert main(["train", str(tmp_path / "spec.toml"), "--quiet", "--output", str(tmp_path / "m")]) == 0
    assert "on 5 structures (1 validation)" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "m"), str(tmp_path / "store.db"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_structures"] == 6 and "pressure_rmse_GPa" in metrics


def test_stress_term_enters_the_loss(cu_data):
    import numpy as np
    import torch

    from alearn.descriptors.chebyshev import ChebyshevSpec
    from alearn.models.committee import Committee
    from alearn.train.losses import batch_terms, member_losses
    from alearn.train.prepare import prepare

    spec = ChebyshevSpec(("Cu",), 4.0, 3.0, 4, 2)
    model = Committee(spec, (4,), "tanh", 2)
    batch = prepare(cu_data(3), spec, dtype=torch.float64, device="cpu", force_fraction=1.0,
                    rng=np.random.default_rng(0))
    terms = batch_terms(model, batch, forces=True, stress=True, create_graph=True)
    assert terms.stress is not None and bool(terms.has_stress.all())
    w = torch.ones(2, 3, dtype=torch.float64)
    without = member_losses(terms, w, 0.5, 0.5, 0.0)
    with_stress = member_losses(terms, w, 0.5, 0.5, 1.0)
    assert bool((with_stress > without).all())
    with_stress.sum().backward()
    assert all(p.grad is not None for p in model.networks.parameters())
