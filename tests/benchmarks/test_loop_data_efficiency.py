"""The data-efficiency benchmark's bookkeeping (not its figures): its systems build valid
configurations, baseline A shares the active arm's explorer, and the "needed" arithmetic uses
the first budget after which the error *stays* below the target."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from alearn.config.campaign import load_campaign

ROOT = Path(__file__).resolve().parents[2]
BENCH_CAMPAIGNS = ROOT / "benchmarks" / "campaigns"


def _module() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
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


@pytest.mark.parametrize("name", ["lj-dimer", "cu-bulk", "cu13", "water", "cu-melt", "cu-adatom"])
def test_systems_build_valid_configurations(name: str) -> None:
    bench = _module()
    system = bench.S.systems()[name]()
    cfg = bench.H.configs(system)
    assert cfg.select.budget >= 1 and system.starts
    assert set(system.test) and all(spec.steps >= spec.every for spec in system.test.values())
    assert system.rare_event == (name in ("cu-melt", "cu-adatom"))
    if system.check is not None:       # the test subsets are in the states their names say
        for subset, spec in system.test.items():
            assert system.check(subset, spec.start) or spec.prepare_K is not None


def _curve(points: list[tuple[int, float]]) -> dict:
    return {"curve": [{"iteration": i, "reference": n, "md_steps": 10 * n, "force_rmse": e}
                      for i, (n, e) in enumerate(points)]}


def test_needed_is_the_first_budget_after_which_the_error_stays_below() -> None:
    needed = _module().needed
    curve = _curve([(4, 1.0), (8, 0.04), (12, 0.2), (16, 0.05), (20, 0.03)])["curve"]
    assert needed(curve, 0.05) == 16                      # 8 crossed, but rose again
    assert needed(curve, 0.01) is None
    assert needed(curve, 2.0) == 4
    assert needed(curve, 0.05, count="md_steps") == 160


def test_ratios_over_seeds_and_lower_bounds() -> None:
    bench = _module()
    runs = {1: {"active": _curve([(4, 1.0), (8, 0.2), (12, 0.05)]),
                "B": _curve([(4, 1.0), (8, 0.5), (16, 0.3), (24, 0.04)])},
            2: {"active": _curve([(4, 1.0), (8, 0.04)]),
                "B": _curve([(4, 1.0), (8, 0.3), (16, 0.05)])},
            3: {"active": _curve([(4, 0.5), (8, 0.01)]),
                "B": _curve([(4, 0.5), (8, 0.3), (20, 0.2)])}}
    result = bench.compare(runs, 0.05, "B")
    assert result["per_seed"][1] == {"active": 12, "B": 24, "ratio": 2.0, "ratio_at_least": None}
    assert result["per_seed"][2]["ratio"] == 2.0
    assert result["per_seed"][3] == {"active": 8, "B": None, "ratio": None, "ratio_at_least": 2.5}
    assert result["seeds_both_reached"] == 2
    assert result["ratio_mean"] == pytest.approx(2.0) and result["ratio_std"] == pytest.approx(0.0)
    steps = bench.compare(runs, 0.05, "B", count="md_steps")
    assert steps["per_seed"][1]["ratio"] == pytest.approx(240 / 12)


def test_baseline_a_shares_the_active_explorer_and_a_plain_drops_the_bias() -> None:
    bench = _module()
    active = bench.STRATEGIES["gf-maxdet+bias"]
    arms = bench.arm_strategies(active, ["active", "A", "A-plain", "B"])
    assert arms["A"].selector == "random" and arms["A"].bias == active.bias > 0
    assert arms["A"].measure == active.measure and arms["A"].hi_factor == active.hi_factor
    assert arms["A-plain"].bias == 0.0 and arms["B"].pool == "reference"
    plain = bench.arm_strategies(bench.STRATEGIES["gf-maxdet"], ["active", "A-plain"])
    assert "A-plain" not in plain


def test_table_reports_ratios_per_seed_and_the_sent_fraction() -> None:
    bench = _module()
    def arm(points):
        curve = _curve(points)["curve"]
        for p in curve[1:]:
            p.update(explored=100, explored_md_steps=1000, selected=p["reference"] - 4, validation=0)
        return {"curve": curve, "converged_at": 1}
    runs = {"1": {"active": arm([(4, 1.0), (8, 0.04), (9, 0.03), (10, 0.02)]),
                  "A": arm([(4, 1.0), (8, 0.5), (12, 0.04), (16, 0.03)]),
                  "B": arm([(4, 1.0), (8, 0.5), (12, 0.2), (16, 0.1)])}}
    lines = bench.table({"system": "toy", "targets": [0.05], "runs": runs})
    vs_a = next(line for line in lines if "| active vs A |" in line)
    assert "| 8 | 12 | 1.50 |" in vs_a
    vs_b = next(line for line in lines if "| active vs B |" in line)
    assert "≥ 2.00" in vs_b and "| 0/1 |" in vs_b
    stops = bench.stop_table({"system": "toy", "targets": [0.05], "runs": runs})
    active = next(line for line in stops if "| toy | active |" in line)
    # stop rule held after iteration 1 (8 calls, 0.04); then 5 + 6 calls over 200 frames, 2000 MD steps
    assert "| 1/1 | 8 | 0.040 |" in active and "5.5 % / 0.55 %" in active
    baseline = next(line for line in stops if "| toy | B |" in line)
    assert baseline.endswith("|  |")
