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


def drawn(i: int, ratio: float | None, frames: list[float], atoms: int = 10) -> IterationFacts:
    """Iteration ``i`` with the validation set's per-frame force RMSEs ``frames`` (draw order)."""
    errs = tuple((atoms, e) for e in frames)
    whole = (sum(e * e for e in frames) / len(frames)) ** 0.5 if frames else None
    return IterationFacts(iteration=i, accurate_ratio=ratio, force_rmse_eV_A=None,
                          reference_total=10, validation_force_rmse_eV_A=whole,
                          validation_frames=errs or None)


def test_recent_validation_rmse_reads_the_frames_of_the_last_window_iterations() -> None:
    from alearn.campaign.stop import recent_validation_rmse

    # 2 frames per iteration; iteration 1's frames are outliers
    history = [drawn(0, None, []), drawn(1, 0.5, [3.0, 3.0]), drawn(2, 0.9, [3.0, 3.0, 0.1, 0.1]),
               drawn(3, 0.9, [3.0, 3.0, 0.1, 0.1, 0.3, 0.3])]
    rmse, n = recent_validation_rmse(history, 3, 2)            # frames of iterations 2 and 3
    assert n == 4 and abs(rmse - ((0.01 + 0.01 + 0.09 + 0.09) / 4) ** 0.5) < 1e-12
    rmse, n = recent_validation_rmse(history, 3, 3)            # 1..3: the whole set
    assert n == 6 and abs(rmse - history[3].validation_force_rmse_eV_A) < 1e-12
    assert recent_validation_rmse(history, 3, 0) == (history[3].validation_force_rmse_eV_A, None)
    rmse, n = recent_validation_rmse(history, 3, 1)
    assert n == 2 and abs(rmse - 0.3) < 1e-12
    # frames weighted by their atoms, as the campaign's validation RMSE is
    mixed = [drawn(0, None, []), IterationFacts(1, 0.9, None, 10, 1.0, ((1, 1.0), (3, 0.0)))]
    assert abs(recent_validation_rmse(mixed, 1, 3)[0] - 0.5) < 1e-12
    # nothing drawn in the window: no recent evidence
    stalled = history[:3] + [drawn(3, 0.9, [3.0, 3.0, 0.1, 0.1]), drawn(4, 0.9, [3.0, 3.0, 0.1, 0.1])]
    assert recent_validation_rmse(stalled, 4, 2) == (None, 0)
    # no per-frame record (an older manifest): the whole set's figure
    assert recent_validation_rmse([held(0, None, None), held(1, 0.9, 0.2)], 1, 3) == (0.2, None)


def test_early_outliers_no_longer_block_the_target_rule() -> None:
    history = [drawn(0, None, []), drawn(1, 0.3, [2.0, 2.0, 2.0]),
               drawn(2, 0.95, [2.0, 2.0, 2.0, 0.05, 0.05, 0.05]),
               drawn(3, 0.95, [2.0, 2.0, 2.0, 0.05, 0.05, 0.05, 0.06, 0.06, 0.06]),
               drawn(4, 0.95, [2.0, 2.0, 2.0, 0.05, 0.05, 0.05, 0.06, 0.06, 0.06, 0.07, 0.07, 0.07])]
    assert history[-1].validation_force_rmse_eV_A > 0.1        # the whole set misses the target
    whole = StopConfig(max_iterations=20, validation_window=0)
    assert stop_reason(history, whole, 0.0, 0.1) is None
    recent = StopConfig(max_iterations=20)                       # default window: 3 iterations
    assert recent.validation_window == 3
    # iteration 3's window (1..3) still holds the outliers, so it is not yet 2 in a row
    assert stop_reason(history[:4], recent, 0.0, 0.1) is None
    reason = stop_reason(history, StopConfig(max_iterations=20, validation_window=2), 0.0, 0.1)
    assert reason is not None and reason.startswith("converged") and "last 2 iterations (6, 6 frames)" in reason
    # a recent frame above the target still blocks it
    bad = history[:4] + [drawn(4, 0.95, [2.0] * 3 + [0.05] * 3 + [0.06] * 3 + [0.3] * 3)]
    assert stop_reason(bad, StopConfig(max_iterations=20, validation_window=2), 0.0, 0.1) is None


def test_facts_read_the_validation_frames() -> None:
    manifest = {"iteration": 1, "counts": {"frames": 10, "accurate": 9},
                "metrics": {"validation": {"structures": 2, "force_rmse_eV_A": 0.05},
                            "validation_frames": [{"row": 4, "atoms": 18, "force_rmse_eV_A": 0.04},
                                                  {"row": 5, "atoms": 18, "force_rmse_eV_A": None},
                                                  {"row": 6, "atoms": 18, "force_rmse_eV_A": 0.06}]}}
    facts_ = IterationFacts.from_manifest(IterationManifest.read(manifest))
    assert facts_.validation_frames == ((18, 0.04), (18, 0.06))
