"""Evaluation of fragment rows: per-type energy offsets and the complete-atom force error."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms

from alearn.campaign.evaluate import errors, model_offsets
from alearn.data.records import LabelledStructure, Labels, Provenance, Source
from alearn.models.prediction import Prediction


def frag_row(i: int, n: int, subset: str | None, energy: float) -> LabelledStructure:
    atoms = Atoms(f"H{n}", positions=[[0, 0, 1.0 * k] for k in range(n)])
    atoms.arrays["alearn_complete"] = np.arange(n) == 0
    forces = np.zeros((n, 3))
    return LabelledStructure(atoms, Labels(energy=energy, forces=forces),
                             Provenance(Source.REFERENCE, subset=subset), id=i)


def prediction(energies, forces) -> Prediction:
    return Prediction(energy=np.array(energies, float), forces=tuple(forces),
                      energy_std=np.zeros(len(energies)),
                      forces_std=tuple(np.zeros(len(f)) for f in forces))


def test_learned_offsets_and_fallback_for_unseen_types() -> None:
    rows = [frag_row(1, 2, "frag:H2", 10.0), frag_row(2, 2, "frag:H2", 11.0),
            frag_row(3, 4, "frag:H4", -3.0), frag_row(4, 4, "frag:H4", -1.0),
            frag_row(5, 4, None, 0.5), frag_row(6, 5, "frag:H5", 7.0)]
    # H2 learned offset +10 (predicted 0 and 1.2); H4 unseen: residuals 2 and 4 → mean 3;
    # H5 unseen with one row: zero error by construction, left out of the energy errors
    pred = prediction([0.0, 1.2, -5.0, -5.0, 0.5, 0.0], [np.zeros((len(r.atoms), 3)) for r in rows])
    out = errors(rows, pred, offsets={"frag:H2": 10.0, "frag:H3": 99.0})
    per_atom = np.array([0.0, 0.2 / 2, 1.0 / 4, 1.0 / 4, 0.0])
    assert out["energy_mae_eV_atom"] == pytest.approx(per_atom.mean())
    assert out["energy_rmse_eV_atom"] == pytest.approx(np.sqrt((per_atom**2).mean()))
    assert out["fragment_rows"] == 5 and out["energy_offset_fallback_rows"] == 3
    assert out["energy_rows"] == 5 and out["structures"] == 6
    without = errors(rows, pred)
    assert without["energy_offset_fallback_rows"] == 5  # all types fall back to the mean residual
    assert without["energy_mae_eV_atom"] == pytest.approx((0.05 + 0.05 + 0.25 + 0.25) / 5)


def test_force_error_over_complete_atoms() -> None:
    rows = [frag_row(1, 3, "frag:H3", 0.0), frag_row(2, 2, None, 0.0)]
    del rows[1].atoms.arrays["alearn_complete"]  # a whole structure: every atom counts
    f1 = np.array([[0.3, 0, 0], [9.0, 9.0, 9.0], [9.0, 0, 0]])
    f2 = np.array([[0, 0.3, 0], [0, 0, -0.3]])
    out = errors(rows, prediction([0.0, 0.0], [f1, f2]))
    assert out["force_rmse_complete_eV_A"] == pytest.approx(np.sqrt(3 * 0.09 / 9))
    assert out["force_rmse_eV_A"] > 3.0
    assert out["energy_offset_fallback_rows"] == 1 and out["structures"] == 2
    assert out["energy_rows"] == 1 and out["energy_mae_eV_atom"] == 0.0  # the whole structure
    no_fragments = errors(rows[1:], prediction([0.0], [f2]))
    assert "force_rmse_complete_eV_A" not in no_fragments and no_fragments["force_rmse_eV_A"] > 0


def test_model_offsets_from_the_manifest(tmp_path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "committee",
                                                        "energy_offsets": {"frag:H2O": [1.0, 3.0]}}))
    assert model_offsets(tmp_path) == {"frag:H2O": 2.0}
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "gpr"}))
    assert model_offsets(tmp_path) == {}
    assert model_offsets(tmp_path / "absent") == {}
