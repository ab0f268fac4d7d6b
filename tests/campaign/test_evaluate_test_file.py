"""``[evaluate] test_file``: the user's fixed labelled set, scored by every iteration's model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from alearn.campaign.layout import CampaignDir
from alearn.campaign.loop import run_campaign
from alearn.campaign.snapshot import verify_all
from alearn.config.campaign import load_campaign
from alearn.config.schema import ConfigError

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from conftest import write_tiny  # noqa: E402
from fakeparts import make  # noqa: E402


def _fixed_set(path: Path, n: int = 5) -> float:
    """EMT-labelled rattled Cu cells in ``path``; returns the RMS reference force component."""
    frames, forces = [], []
    for i in range(n):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.rattle(0.05, seed=100 + i)
        atoms.calc = EMT()
        f = atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(), forces=f,
                                           stress=atoms.get_stress())
        frames.append(atoms)
        forces.append(f)
    write(path, frames, format="extxyz")
    return float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))


def test_every_iteration_scores_the_same_file(tmp_path: Path) -> None:
    toml = write_tiny(tmp_path)
    rms = _fixed_set(tmp_path / "fixed.extxyz")
    toml.write_text(toml.read_text().replace("test_fraction = 0.25",
                                             'test_fraction = 0.25\ntest_file = "fixed.extxyz"'))
    run_campaign(toml, directory=tmp_path / "run", parts_factory=make)
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    assert len(manifests) == 4
    for manifest in manifests:
        scored = manifest["metrics"]["file"]
        assert scored["structures"] == 5
        # the fake model predicts 1.01 × the reference forces
        assert scored["force_rmse_eV_A"] == pytest.approx(0.01 * rms, rel=1e-4)


def test_without_a_file_nothing_is_scored(tmp_path: Path) -> None:
    run_campaign(write_tiny(tmp_path), directory=tmp_path / "run", parts_factory=make)
    assert all("file" not in m["metrics"] for m in verify_all(CampaignDir(tmp_path / "run")))


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    toml = write_tiny(tmp_path)
    toml.write_text(toml.read_text().replace("test_fraction = 0.25",
                                             'test_fraction = 0.25\ntest_file = "absent.extxyz"'))
    with pytest.raises(ConfigError) as info:
        load_campaign(toml)
    assert info.value.key == "evaluate.test_file" and "does not exist" in str(info.value)
