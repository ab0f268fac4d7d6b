"""The training-cost benchmark's campaign is a valid campaign with replay on or off."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from alearn.config.campaign import load_campaign

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("replay", [0.0, 2.0])
def test_the_benchmark_campaign_validates(tmp_path: Path, replay: float) -> None:
    spec = importlib.util.spec_from_file_location("train_replay_cost",
                                                  ROOT / "benchmarks" / "train_replay_cost.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("train_replay_cost", module)
    spec.loader.exec_module(module)
    (tmp_path / "test.extxyz").write_text("")
    toml = tmp_path / "c.toml"
    toml.write_text(module.CAMPAIGN.format(name="c", seed=1, start=module.START, replay=replay,
                                           replay_min=16, budget=8,
                                           test_file=tmp_path / "test.extxyz", iterations=16))
    campaign = load_campaign(toml)
    assert campaign.train.replay == replay and campaign.train.replay_min == 16
    assert campaign.stop.max_iterations == 16
