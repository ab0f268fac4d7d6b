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
