"""Stop rules: each rule fires exactly when its condition holds."""

from __future__ import annotations

from alearn.campaign.records import IterationManifest
from alearn.campaign.stop import IterationFacts, stop_reason
from alearn.config.loop import StopConfig


def facts(i: int, ratio: float | None = 0.5, rmse: float | None = 1.0, total: int = 10) -> IterationFacts:
    return IterationFacts(iteration=i, accurate_ratio=ratio, force_rmse_eV_A=rmse, reference_total=total)


def test_no_rule_holds() -> None:
    history = [facts(0, None), facts(1)]
    assert stop_reason(history, StopConfig(max_iterations=5), 0.0) is None
    assert stop_reason([], StopConfig(), 1e9) is None
    assert stop_reason([facts(0, rmse=0.0, total=10**6)], StopConfig(force_rmse_eV_A=0.1,
                       max_reference_calculations=1, walltime_s=1.0), 1e9) is None


def test_max_iterations() -> None:
    reason = stop_reason([facts(0), facts(1), facts(2)], StopConfig(max_iterations=2), 0.0)
    assert reason == "maximum number of iterations reached (2)"


def test_accurate_ratio_needs_k_consecutive_iterations() -> None:
    rules = StopConfig(accurate_ratio=0.9, accurate_iterations=2)
    assert stop_reason([facts(0, None), facts(1, 0.95)], rules, 0.0) is None
    assert stop_reason([facts(0, None), facts(1, 0.8), facts(2, 0.95)], rules, 0.0) is None
    reason = stop_reason([facts(0, None), facts(1, 0.8), facts(2, 0.95), facts(3, 0.91)], rules, 0.0)
    assert reason is not None and "2 consecutive" in reason and "0.95, 0.91" in reason


def test_force_target() -> None:
    rules = StopConfig(force_rmse_eV_A=0.1)
    assert stop_reason([facts(1, rmse=0.11)], rules, 0.0) is None
    assert "0.0900" in stop_reason([facts(1, rmse=0.09)], rules, 0.0)
    assert stop_reason([facts(1, rmse=None)], rules, 0.0) is None


def test_reference_budget() -> None:
    rules = StopConfig(max_reference_calculations=50)
    assert stop_reason([facts(1, total=49)], rules, 0.0) is None
    assert stop_reason([facts(1, total=50)], rules, 0.0) == "reference calculations 50 >= maximum 50"


def test_walltime() -> None:
    rules = StopConfig(walltime_s=60.0)
    assert stop_reason([facts(1)], rules, 59.0) is None
    assert "wall time" in stop_reason([facts(1)], rules, 61.0)


def test_facts_from_manifest() -> None:
    manifest = {"iteration": 2, "counts": {"frames": 10, "accurate": 7, "reference_total": 33},
                "metrics": {"test": {"force_rmse_eV_A": 0.2}}}
    assert IterationFacts.from_manifest(IterationManifest.read(manifest)) == facts(2, 0.7, 0.2, 33)


def held(i: int, ratio: float | None, rmse: float | None) -> IterationFacts:
    return IterationFacts(iteration=i, accurate_ratio=ratio, force_rmse_eV_A=None,
                          reference_total=10, validation_force_rmse_eV_A=rmse)


def test_target_rule_needs_error_and_ratio_for_k_iterations() -> None:
    rules = StopConfig(max_iterations=20)              # defaults: ratio 0.9, 2 iterations
    ok, bad_ratio, bad_error = held(2, 0.95, 0.08), held(2, 0.85, 0.08), held(2, 0.95, 0.12)
    assert stop_reason([held(0, None, None), held(1, 0.95, 0.08), ok], rules, 0.0) is None  # no target
    for last in (bad_ratio, bad_error, held(2, 0.95, None)):
        assert stop_reason([held(0, None, None), held(1, 0.95, 0.08), last], rules, 0.0, 0.1) is None
    assert stop_reason([held(0, None, None), ok], rules, 0.0, 0.1) is None        # one iteration only
    reason = stop_reason([held(0, None, None), held(1, 0.92, 0.09), ok], rules, 0.0, 0.1)
    assert reason is not None and reason.startswith("converged") and "0.92, 0.95" in reason


def test_facts_read_the_validation_error() -> None:
    manifest = {"iteration": 1, "counts": {"frames": 10, "accurate": 9},
                "metrics": {"validation": {"structures": 3, "force_rmse_eV_A": 0.05}}}
    assert IterationFacts.from_manifest(IterationManifest.read(manifest)).validation_force_rmse_eV_A == 0.05
