"""The seed-paper studies' bookkeeping (benchmarks/papers/common.py), not their figures: the
mean ± sd, the share of a gain, the interpolated crossing that never extrapolates, splitting a
committee into members, and a results folder that keeps finished runs and resumes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from ase import Atoms

ROOT = Path(__file__).resolve().parents[2]


def _common() -> ModuleType:
    path = ROOT / "benchmarks" / "papers" / "common.py"
    spec = importlib.util.spec_from_file_location("papers_common", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["papers_common"] = module
    spec.loader.exec_module(module)
    return module


common = _common()


def test_mean_sd_share_and_crossing():
    assert common.mean_sd([1.0, 3.0]) == pytest.approx((2.0, np.sqrt(2.0)))
    assert common.mean_sd([5.0]) == (5.0, 0.0)
    assert common.pm([0.1, 0.3], 2) == "0.20 ± 0.14"
    assert common.share_of_gain(1.0, 0.6, 0.2) == pytest.approx(0.5)
    x, y = [100, 200, 400, 800], [0.8, 0.6, 0.4, 0.3]
    assert common.crossing(x, y, 0.5) == pytest.approx(np.exp((np.log(200) + np.log(400)) / 2))
    assert common.crossing(x, y, 0.9) == 100.0
    assert common.crossing(x, y, 0.2) is None               # below every measured point: no extrapolation


def test_members_split_a_committee(tmp_path):
    from ase.calculators.lj import LennardJones

    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
    from alearn.train.trainer import train_committee

    calc = LennardJones(epsilon=1.0, sigma=1.0, rc=3.0)
    frames = []
    for d in np.linspace(1.0, 2.0, 6):
        atoms = Atoms("H2", positions=[[0, 0, 0], [d, 0, 0]])
        atoms.calc = calc
        atoms.get_forces()
        frames.append(atoms)
    desc = DescriptorConfig(radial_cutoff_A=3.0, angular_cutoff_A=0.0, radial_order=6, angular_order=0)
    model, _ = train_committee(frames, [], desc, CommitteeConfig(members=2, hidden=(4,)),
                               TrainConfig(epochs=3, validation_fraction=0.0), seed=0)
    both = model.predict(frames)
    one, two = (common.members(model, [k]).predict(frames) for k in (0, 1))
    np.testing.assert_allclose((one.energy + two.energy) / 2, both.energy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.abs(one.energy - two.energy) / 2, both.energy_std, rtol=1e-9, atol=1e-12)
    assert common.members(model, [1]).members == 1 and model.members == 2


def test_study_keeps_finished_runs_and_resumes(tmp_path):
    study = common.Study("t", tmp_path, {"a": 1}, resume=False)
    calls = []
    study.run("x", lambda: calls.append(1) or {"value": 2.0})
    study.save("| a |\n|---|\n")
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["runs"][0]["value"] == 2.0 and "load_1_5_15" in data["runs"][0]["load_before"]
    assert "load average" in (tmp_path / "table.md").read_text()
    again = common.Study("t", tmp_path, {"a": 1}, resume=True)
    assert again.run("x", lambda: calls.append(1) or {"value": 3.0})["value"] == 2.0
    assert calls == [1]
    fresh = common.Study("t", tmp_path, {"a": 1}, resume=False)
    assert fresh.run("x", lambda: {"value": 3.0})["value"] == 3.0
