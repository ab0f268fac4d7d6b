"""The data-efficiency harness's loop logic on a tiny system (4 Cu atoms, EMT, a 2-member
committee): the surrogate arms use the campaign's target-based trust
(``alearn.campaign.trusting.fit_window``), the campaign's stop rule ends labelling, the random
arms then stop spending and the uncertainty arm keeps exploring and labels only frames predicted
to miss the target, without validation frames; "sent / explored" is counted after convergence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import al_harness as H  # noqa: E402
import al_systems as S  # noqa: E402


def _tiny(validation: int = 3) -> S.System:
    start = Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [1.25, 2.1, 0], [1.25, 0.7, 2.0]])
    start.center(vacuum=6.0)
    return S.System(
        "tiny", S._emt, (start,), "committee",
        {"radial_cutoff_A": 4.0, "angular_cutoff_A": 3.0, "radial_order": 4, "angular_order": 2},
        {"kind": "committee", "members": 2, "hidden": [8]},
        {"epochs": 4, "learning_rate": 0.005, "batch_size": 8, "patience": 4, "force_weight": 0.5},
        {"timestep_fs": 1.0, "walkers": 2, "monitor": {"every_steps": 5},
         "stages": [{"temperature_K": 50.0, "steps": 30, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 2, "min_frame_gap": 0, "trust": {"lo": 0.05, "hi": 5.0}},
        {"md": S.MdSpec(start, 300.0, trajectories=1, equilibrate=0, steps=20, every=10)},
        timestep_fs=1.0, initial_copies=6, initial_validation=1, validation_per_iteration=validation)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    system = _tiny()
    cfg = H.configs(system)
    out = tmp_path_factory.mktemp("harness")
    test = S.test_set(system, 1, out / "cache")
    start = H.initial_state(cfg, system, 1, out / "initial")
    arms = {"active": H.Strategy("active", selector="fps", measure="committee"),
            "A": H.Strategy("A", selector="random", measure="committee"),
            "B": H.Strategy("B", pool="reference"),
            "B-nostop": H.Strategy("B-nostop", pool="reference", stops=False)}
    # a target every model meets: the stop rule holds after accurate_iterations (2) iterations
    return {name: H.run_arm(system, s, 1, 50.0, test, start, out / name, 4) for name, s in arms.items()}


def test_stop_rule_is_the_campaigns_and_random_arms_then_stop_spending(runs: dict) -> None:
    for name in ("A", "B"):
        run = runs[name]
        assert run["converged_at"] == 2
        after = [p for p in run["curve"] if p["iteration"] > 2]
        assert after and all(p["selected"] == 0 and p["validation"] == 0 for p in after)
        assert len({p["reference"] for p in run["curve"] if p["iteration"] >= 2}) == 1
        assert "converged" in run["curve"][1]["stop_reason"]


def test_an_arm_that_ignores_the_stop_rule_spends_its_budget_to_the_end(runs: dict) -> None:
    run = runs["B-nostop"]
    assert run["converged_at"] is None
    assert all(p["selected"] == 2 and p["validation"] == 3 for p in run["curve"])


def test_uncertainty_arm_keeps_exploring_without_validation_and_labels_only_misses(runs: dict) -> None:
    run = runs["active"]
    assert run["converged_at"] == 2
    for p in run["curve"]:
        assert p["lo"] == 50.0 and p["hi"] >= 5.0 * 50.0     # the campaign's window: lo = target
        if p["iteration"] > 2:
            assert p["validation"] == 0 and p["explored"] > 0
            # every frame is predicted below the (huge) target: none is sent
            assert p["accurate_ratio"] == 1.0 and p["selected"] == 0
    # the stop rule's RMSE is on the validation frames of the last 3 iterations (3 per
    # iteration here): until iteration 3 that is every explored validation frame
    scored = [p for p in run["curve"] if "stop_validation_force_rmse" in p]
    assert [p["iteration"] for p in scored] == [1, 2]
    for p in scored:
        assert p["stop_validation_force_rmse"] == pytest.approx(p["validation_force_rmse"])
    sources = [p["calibration"]["source"] for p in run["curve"]]
    assert sources[0].startswith("fallback")                 # no validation frame yet
    assert "validation" in sources[1:]                       # then the campaign's fit


def test_calibration_is_the_campaigns_fit_window(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import alearn.campaign.trusting as trusting

    calls = []
    real = trusting.fit_window

    def spy(*args, **kwargs):
        calls.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(trusting, "fit_window", spy)
    system = _tiny()
    cfg = H.configs(system)
    start = H.initial_state(cfg, system, 2, tmp_path / "initial")
    trust = H.calibrate(H.Strategy("x", measure="committee"), cfg, start.model, start.valid,
                        start.train, 0.3)
    assert calls == [0.3] and trust.lo == 0.3
    assert trust.hi == pytest.approx(cfg.select.hi_factor * 0.3)   # 1 frame: the fallback


def test_sent_fraction_counts_only_iterations_after_convergence() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lde", ROOT / "benchmarks" / "loop_data_efficiency.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    curve = [{"iteration": 0, "reference": 10, "selected": 0, "validation": 0, "explored": 0},
             {"iteration": 1, "reference": 20, "selected": 7, "validation": 3, "explored": 100,
              "explored_md_steps": 1000},
             {"iteration": 2, "reference": 23, "selected": 1, "validation": 0, "explored": 100,
              "explored_md_steps": 1000},
             {"iteration": 3, "reference": 23, "selected": 0, "validation": 0, "explored": 100,
              "explored_md_steps": 1000}]
    assert bench.sent_fraction(curve, 1) == pytest.approx(1 / 200)
    assert bench.sent_fraction(curve, 1, per="explored_md_steps") == pytest.approx(1 / 2000)
    assert bench.sent_fraction(curve, None) is None and bench.sent_fraction(curve, 3) is None


def test_levels_follow_the_models_error_while_it_misses_the_target() -> None:
    from alearn.select.trust import levels

    assert levels(0.1, 5.0).hi == pytest.approx(0.5)
    assert levels(0.1, 5.0, 0.05).hi == pytest.approx(0.5)      # better than the target: fixed
    window = levels(0.1, 5.0, 0.4)
    assert window.lo == 0.1 and window.hi == pytest.approx(2.0) and window.notes
    assert levels(0.1, 5.0, float("nan")).hi == pytest.approx(0.5)
    assert np.isfinite(levels(0.1, 5.0, None).hi)
