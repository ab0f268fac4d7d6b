"""Training with fragments: per-type energy offsets and the complete-environment force mask."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.models.io import MANIFEST, load_committee, save_committee
from alearn.train.metrics import evaluate_surrogate
from alearn.train.trainer import train_committee

CU = DescriptorConfig(radial_cutoff_A=4.0, angular_cutoff_A=3.0, radial_order=6, angular_order=3)
SHIFTS = {"frag:Cu13": 2.0, "frag:Cu19": -1.5}


def labelled(atoms, row_id: int) -> LabelledStructure:
    atoms.calc = EMT()
    labels = Labels(float(atoms.get_potential_energy()), atoms.get_forces().copy())
    atoms.calc = None
    return LabelledStructure(atoms, labels, Provenance(Source.REFERENCE), id=row_id)


def clusters(n: int, seed: int) -> list:
    """Rattled EMT Cu clusters: 13 atoms (first shell) and 19 atoms (two shells)."""
    rng = np.random.default_rng(seed)
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    crystal.pbc = False
    centre = crystal.positions[np.argmin(np.linalg.norm(crystal.positions - [5.4, 5.4, 3.6], axis=1))]
    out = []
    for k in range(n):
        radius = 2.6 if k % 2 == 0 else 3.7
        keep = np.linalg.norm(crystal.positions - centre, axis=1) < radius
        atoms = crystal[keep]
        atoms.positions += rng.normal(scale=0.07, size=atoms.positions.shape)
        out.append(labelled(atoms, k + 1))
    return out


def shifted(rows: list, prefix: str = "frag:") -> list:
    """Rows as fragments of their type, with the type's constant added to the energy."""
    out = []
    for row in rows:
        key = "frag:" + row.atoms.get_chemical_formula(mode="hill")
        labels = replace(row.labels, energy=row.labels.energy + SHIFTS[key])
        out.append(replace(row, labels=labels, provenance=replace(row.provenance, subset=prefix + key[5:])))
    return out


def offsets_run(prefix: str):
    data = clusters(40, seed=3)
    plain, frags = data[:20], shifted(data[20:36], prefix)
    test = shifted(data[36:], prefix)
    model, _ = train_committee(
        plain + frags, [], CU, CommitteeConfig(members=2, hidden=(10, 10)),
        TrainConfig(epochs=120, force_weight=0.3, learning_rate=5e-3, batch_size=4, patience=0,
                    validation_fraction=0.0), seed=0)
    return model, evaluate_surrogate(model, test)


def test_learned_offsets_recover_constant_shifts():
    model, metrics = offsets_run("frag:")
    assert set(model.energy_offsets) == set(SHIFTS)
    for key, shift in SHIFTS.items():  # shifts are 0.08–0.15 eV/atom; offsets within 0.01–0.015
        n_atoms = int(key[7:])
        members = np.array(model.energy_offsets[key])
        assert len(members) == 2
        assert abs(members.mean() - shift) < 0.01 * n_atoms
        np.testing.assert_allclose(members, shift, atol=0.015 * n_atoms)
    assert metrics["fragment_rows"] == 4 and metrics["energy_offset_fallback_rows"] == 0
    assert metrics["energy_rmse_eV_atom"] < 0.01


def test_rows_without_a_fragment_type_get_no_offset():
    model, metrics = offsets_run("shifted:")
    assert model.energy_offsets == {}
    assert metrics["energy_rmse_eV_atom"] > 0.04  # the shifts (0.08–0.15 eV/atom) stay unexplained


def test_offsets_survive_save_and_old_models_load(tmp_path):
    model, _ = train_committee(
        shifted(clusters(6, seed=1)), [], CU, CommitteeConfig(members=2, hidden=(4,)),
        TrainConfig(epochs=2, validation_fraction=0.0), seed=0)
    save_committee(model, tmp_path / "m")
    loaded = load_committee(tmp_path / "m")
    assert loaded.energy_offsets == model.energy_offsets and set(loaded.energy_offsets) == set(SHIFTS)
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    del manifest["energy_offsets"]  # a model saved before offsets existed
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    assert load_committee(tmp_path / "m").energy_offsets == {}


def with_incomplete(rows: list, absurd: bool) -> list:
    """Fragment rows whose last atoms are incomplete; their forces absurd when asked."""
    out = []
    for row in rows:
        atoms = row.atoms.copy()
        complete = np.arange(len(atoms)) < 7
        atoms.arrays["alearn_complete"] = complete
        forces = row.labels.forces.copy()
        if absurd:
            forces[~complete] = 1e3
        out.append(replace(row, atoms=atoms, labels=Labels(row.labels.energy, forces)))
    return shifted(out)


@pytest.mark.parametrize("mode", ["complete", "all"])
def test_complete_mode_ignores_forces_of_incomplete_atoms(mode):
    data = clusters(8, seed=2)
    cfg = TrainConfig(epochs=3, force_weight=0.5, batch_size=4, fragment_forces=mode)
    weights = []
    for absurd in (False, True):
        model, _ = train_committee(with_incomplete(data, absurd), [], CU,
                                   CommitteeConfig(members=2, hidden=(6,)), cfg, seed=0)
        weights.append(torch.cat([p.detach().flatten() for p in model.networks.parameters()]))
    same = torch.allclose(weights[0], weights[1], rtol=0, atol=1e-12)
    assert same == (mode == "complete")
