"""Model directories: round trip, manifest, checksums, load dispatcher, float32 calculator."""

from __future__ import annotations

import json

import numpy as np
import pytest

import alearn
from alearn.errors import UserError
from alearn.models import load


def test_save_load_round_trip(tmp_path, make_committee, make_cell):
    committee = make_committee(("Cu", "Au"), members=3)
    atoms = make_cell()
    before = committee.predict([atoms])
    committee.save(tmp_path / "m", metrics={"valid": {"force_mae_eV_A": 0.1}})
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["kind"] == "committee" and manifest["format_version"] == 1
    assert manifest["elements"] == ["Cu", "Au"]
    assert manifest["architecture"]["members"] == 3
    assert len(manifest["files"]["weights.safetensors"]) == 64
    loaded = load(tmp_path / "m")
    after = loaded.predict([atoms])
    np.testing.assert_array_equal(before.energy, after.energy)
    np.testing.assert_array_equal(before.stress, after.stress)
    calc = alearn.load_calculator(tmp_path / "m")
    assert calc.get_potential_energy(atoms) == pytest.approx(before.energy[0])


def test_tampered_weights_are_refused(tmp_path, make_committee):
    make_committee().save(tmp_path / "m")
    weights = tmp_path / "m" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="sha256"):
        load(tmp_path / "m")


def test_unknown_kind_and_missing_manifest(tmp_path):
    with pytest.raises(UserError, match="manifest.json is missing"):
        load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "mystery"}')
    with pytest.raises(UserError, match="unknown model kind 'mystery'"):
        load(tmp_path)


def test_float32_calculator_agrees_with_float64(backend, make_committee, make_cell):
    committee = make_committee(("Cu", "Au"))
    atoms = make_cell()
    ref = committee.as_calculator()
    fast = committee.as_calculator(dtype="float32")
    assert fast.get_potential_energy(atoms) == pytest.approx(ref.get_potential_energy(atoms), abs=1e-4)
    np.testing.assert_allclose(fast.get_forces(atoms), ref.get_forces(atoms), atol=1e-4)
    assert committee.dtype.is_floating_point and str(committee.dtype) == "torch.float64"


def test_extrapolation_flags_descriptors_outside_training_range(make_committee, make_cell):
    import torch

    committee = make_committee(("Cu", "Au"))
    atoms = make_cell()
    graph = committee.graph([atoms])
    from alearn.descriptors.chebyshev import features

    g = features(committee.spec, graph, torch.as_tensor(atoms.positions))
    with torch.no_grad():
        for t in range(2):
            mask = graph.species == t
            committee.feature_min[t] = g[mask].min(0).values
            committee.feature_max[t] = g[mask].max(0).values
    calc = committee.as_calculator()
    calc.get_potential_energy(atoms)
    assert calc.results["extrapolation"].sum() == 0
    squeezed = atoms.copy()
    squeezed.set_cell(atoms.cell * 0.9, scale_atoms=True)
    calc.get_potential_energy(squeezed)
    assert calc.results["extrapolation"].min() > 0
    assert calc.results["extrapolation_distance"].min() > 0
