"""Every example campaign of this issue validates, and its structures are readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from alearn.campaign.initial import initial_geometries
from alearn.config.campaign import load_campaign

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


@pytest.mark.parametrize("name", ["h2-gpr", "cu-emt", "water-box-xtb", "water-cluster-xtb"])
def test_example_campaign_validates(name: str) -> None:
    config = load_campaign(CAMPAIGNS / f"{name}.toml")
    assert config.campaign.name == name
    structures = initial_geometries(config.campaign.structures)
    assert structures and all(len(a) > 0 for a in structures)
    assert config.stop.max_iterations >= 2


def test_cu_emt_explores_npt_on_a_periodic_cell() -> None:
    config = load_campaign(CAMPAIGNS / "cu-emt.toml")
    assert any(stage.method == "npt" for stage in config.explore.stages)
    assert all(a.pbc.all() for a in initial_geometries(config.campaign.structures))


def test_water_box_labels_fragments() -> None:
    config = load_campaign(CAMPAIGNS / "water-box-xtb.toml")
    assert config.select.fragments.enabled
    assert config.select.fragments.min_atoms < 96
