"""Every shipped campaign validates; the water-cluster seed data are true GFN2-xTB labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alearn.config.campaign import load_campaign
from alearn.data.readers import LabelOptions, read_frames
from alearn.data.store import Store
from alearn.data.transfer import import_files

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
SEED = CAMPAIGNS / "data" / "water-cluster-seed.extxyz"


@pytest.mark.parametrize("path", sorted(CAMPAIGNS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_campaign_validates(path: Path) -> None:
    campaign = load_campaign(path)
    assert campaign.campaign.name == path.stem


def test_main_example_campaign_uses_the_seed_data() -> None:
    campaign = load_campaign(CAMPAIGNS / "water-cluster-xtb.toml")
    assert campaign.reference.kind == "xtb"
    assert campaign.initial.dataset == SEED


def test_seed_data_import_into_a_store(tmp_path: Path) -> None:
    with Store.open(tmp_path / "seed.db") as store:
        report = import_files(store, [SEED])[0]
        assert (report.frames, report.inserted, report.rejected) == (12, 12, ())
        assert {r.provenance.calculator for r in store.rows()} == {"xtb"}


def test_seed_labels_are_gfn2_xtb() -> None:
    from tblite.ase import TBLite

    frames = read_frames(SEED, "extxyz", LabelOptions())
    for frame in (frames[0], frames[5]):
        atoms = frame.atoms.copy()
        atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
        assert atoms.get_potential_energy() == pytest.approx(frame.labels.energy, abs=1e-6)
        np.testing.assert_allclose(atoms.get_forces(), frame.labels.forces, atol=1e-6)
