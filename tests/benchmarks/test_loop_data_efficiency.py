"""The data-efficiency benchmark's bookkeeping (not its figures): the campaigns it runs validate,
its campaign copies keep their data paths and take the requested seed and iteration count, and
the "calculations needed" / ratio arithmetic is right, including a target never reached."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from alearn.config.campaign import load_campaign

ROOT = Path(__file__).resolve().parents[2]
BENCH_CAMPAIGNS = ROOT / "benchmarks" / "campaigns"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loop_data_efficiency",
                                                  ROOT / "benchmarks" / "loop_data_efficiency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(BENCH_CAMPAIGNS.glob("*.toml")), ids=lambda p: p.name)
def test_benchmark_campaign_validates(path: Path) -> None:
    campaign = load_campaign(path)
    assert campaign.campaign.name == path.stem
    assert all(s.exists() for s in campaign.campaign.structures)


@pytest.mark.parametrize("path", [ROOT / "campaigns" / "cu-emt.toml",
                                  BENCH_CAMPAIGNS / "cu-emt-forces.toml"], ids=lambda p: p.name)
def test_campaign_copy_takes_seed_and_iterations_and_keeps_paths(path: Path, tmp_path: Path) -> None:
    copy = _module().with_settings(path, 5, 17, tmp_path / "copy")
    original, changed = load_campaign(path), load_campaign(copy)
    assert changed.stop.max_iterations == 5
    assert changed.campaign.seed == 17
    assert [s.resolve() for s in changed.campaign.structures] == [s.resolve() for s in original.campaign.structures]
    assert changed.train == original.train and changed.select == original.select


def _arms(active: list[tuple[int, float]], random: list[tuple[int, float]]) -> dict:
    def curve(points: list[tuple[int, float]]) -> dict:
        return {"curve": [{"iteration": i, "reference": n, "force_rmse_eV_A": e}
                          for i, (n, e) in enumerate(points)]}

    return {"active": curve(active), "random": curve(random)}


def test_needed_and_ratio_over_seeds() -> None:
    bench = _module()
    runs = {1: _arms([(4, 1.0), (8, 0.2), (12, 0.05)], [(4, 1.0), (8, 0.5), (16, 0.3), (24, 0.04)]),
            2: _arms([(4, 1.0), (8, 0.04)], [(4, 1.0), (8, 0.3), (16, 0.05)])}
    result = bench.compare(runs, 0.05)
    assert result["per_seed"][1] == {"active": 12, "random": 24, "ratio": 2.0, "ratio_at_least": None}
    assert result["per_seed"][2]["ratio"] == 2.0
    assert result["ratio_mean"] == pytest.approx(2.0) and result["ratio_std"] == pytest.approx(0.0)


def test_target_missed_by_random_gives_a_lower_bound_only() -> None:
    result = _module().compare({3: _arms([(4, 0.5), (8, 0.01)], [(4, 0.5), (8, 0.3), (20, 0.2)])}, 0.02)
    assert result["per_seed"][3] == {"active": 8, "random": None, "ratio": None, "ratio_at_least": 2.5}
    assert result["ratio_mean"] is None and result["seeds_both_reached"] == 0
