"""Trust-window counts, time decorrelation, farthest-point sampling, adaptive levels, explanations."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.config.explore import SelectConfig
from alearn.config.schema import build
from alearn.explore.run import ExplorationResult
from alearn.select.calibration import calibrate
from alearn.select.selector import select_candidates
from alearn.select.window import trust_window


def cfg(**kwargs) -> SelectConfig:
    base = dict(trust={"lo": 0.1, "hi": 1.0}, budget=20, min_frame_gap=0)
    base.update(kwargs)
    return build(SelectConfig, base)


def test_trust_window_counts_per_walker_and_iteration(tmp_path, make_result, make_dimer):
    values = [[0.0, 0.05, 0.1, 0.5, 0.99, 1.0, 3.0], [0.2, 0.2, 2.0, 0.09]]
    walkers = [[(10 * (k + 1), v, make_dimer(0.74 + 0.01 * k)) for k, v in enumerate(vals)]
               for vals in values]
    result = make_result(tmp_path, walkers, insane=[(1, 1)])
    sel = select_candidates(ExplorationResult.load(tmp_path), cfg())
    per = dict(sel.per_walker)
    assert (per[0].accurate, per[0].candidate, per[0].failed, per[0].insane) == (2, 3, 2, 0)
    assert (per[1].accurate, per[1].candidate, per[1].failed, per[1].insane) == (1, 1, 2, 1)
    assert (sel.counts.accurate, sel.counts.candidate, sel.counts.failed) == (3, 4, 4)
    assert sel.counts == result.counts          # the monitor's counts agree with selection's
    assert sel.candidates == 4 and len(sel.selected) == 4
    assert all(0.1 <= s.measure < 1.0 for s in sel.selected)


def test_time_decorrelation_keeps_frames_apart(tmp_path, make_result, make_dimer):
    walkers = [[(10 * (k + 1), 0.2 + 0.01 * (k % 3), make_dimer(0.7 + 0.02 * k)) for k in range(12)]]
    make_result(tmp_path, walkers)
    sel = select_candidates(ExplorationResult.load(tmp_path), cfg(min_frame_gap=25))
    steps = sorted(s.step for s in sel.selected)
    assert len(steps) >= 4
    assert np.all(np.diff(steps) >= 25)
    assert sel.decorrelated == len(steps) < sel.candidates == 12


def test_farthest_point_sampling_picks_spread_out_frames(tmp_path, make_result, make_dimer):
    distances = [0.70, 0.705, 0.71, 0.715, 1.30, 1.305, 1.31, 2.20, 2.205]
    walkers = [[(k, 0.5, make_dimer(d)) for k, d in enumerate(distances)]]
    make_result(tmp_path, walkers)
    sel = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=3))
    picked = sorted(round(s.frame.get_distance(1, 2), 3) for s in sel.selected)
    assert len(picked) == 3
    assert picked[0] < 0.72 and 1.29 < picked[1] < 1.32 and picked[2] > 2.19
    plain = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=3, selector="none"))
    assert len({round(s.frame.get_distance(1, 2), 1) for s in plain.selected}) < 3


def test_kmeans_diversity_takes_the_most_uncertain_frame_of_each_cluster(tmp_path, make_result,
                                                                          make_dimer):
    """Three groups of dimer lengths; in each, a different frame is the most uncertain."""
    rows = [(0.70, 0.3), (0.705, 0.9), (0.71, 0.2), (1.30, 0.4), (1.305, 0.1), (1.31, 0.8),
            (2.20, 0.5), (2.205, 0.6), (2.21, 0.2)]
    walkers = [[(k, v, make_dimer(d)) for k, (d, v) in enumerate(rows)]]
    make_result(tmp_path, walkers)
    sel = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=3, selector="kmeans"))
    assert sorted(round(s.measure, 2) for s in sel.selected) == [0.6, 0.8, 0.9]
    fps = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=3))
    assert sorted(round(s.measure, 2) for s in fps.selected) != [0.6, 0.8, 0.9]


def test_budget_caps_selection_and_starts_from_most_uncertain(tmp_path, make_result, make_dimer):
    walkers = [[(k, 0.2 + 0.01 * k, make_dimer(0.7 + 0.05 * k)) for k in range(10)]]
    make_result(tmp_path, walkers)
    sel = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=4))
    assert len(sel.selected) == 4
    assert sel.selected[0].measure == pytest.approx(0.29)


def test_top_n_lowers_the_level_to_fill_the_budget(tmp_path, make_result, make_dimer):
    walkers = [[(k, v, make_dimer(0.7 + 0.1 * k)) for k, v in enumerate([0.01, 0.05, 0.03, 0.08, 2.0])]]
    make_result(tmp_path, walkers)
    off = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=2))
    assert off.selected == ()
    top = select_candidates(ExplorationResult.load(tmp_path), cfg(budget=2, adaptive="top_n"))
    assert top.lo == pytest.approx(0.05)
    assert sorted(s.measure for s in top.selected) == pytest.approx([0.05, 0.08])
    assert top.counts.failed == 1


def test_calibrated_level_comes_from_the_report(tmp_path, make_result, make_dimer):
    rng = np.random.default_rng(1)
    predicted = rng.uniform(0.05, 0.5, 40)
    report = calibrate(predicted, 2.0 * predicted, target_error=0.1)
    assert report.slope == pytest.approx(2.0)
    assert report.spearman == pytest.approx(1.0)
    assert report.suggested_lo == pytest.approx(0.05)
    assert "lo = 0.05" in report.text()
    window = trust_window(cfg(adaptive="calibrated"), report)     # before exploration
    assert (window.lo, window.hi) == (pytest.approx(0.05), 1.0)
    assert trust_window(cfg(adaptive="off"), report).lo == 0.1
    walkers = [[(k, v, make_dimer(0.7 + 0.1 * k)) for k, v in enumerate([0.04, 0.06, 0.09, 0.2])]]
    make_result(tmp_path, walkers, lo=window.lo)                # the walkers classify with it
    sel = select_candidates(ExplorationResult.load(tmp_path),
                            cfg(adaptive="calibrated"), calibration=report)
    assert sel.lo == pytest.approx(0.05)
    assert sorted(s.measure for s in sel.selected) == pytest.approx([0.06, 0.09, 0.2])
    assert sel.calibration is report


def test_calibration_rejects_mismatched_or_too_few(tmp_path):
    from alearn.errors import UserError

    with pytest.raises(UserError, match="as many true errors"):
        calibrate([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(UserError, match="at least 3"):
        calibrate([0.1, 0.0], [0.2, 0.1])


def test_explanation_names_the_driving_atom(tmp_path, make_result, make_dimer):
    make_result(tmp_path, [[(5, 0.4, make_dimer(0.74))]])
    (chosen,) = select_candidates(ExplorationResult.load(tmp_path), cfg()).selected
    why = chosen.explanation
    assert why.atom == 2 and why.element == "H" and why.atom_value == pytest.approx(0.4)
    assert why.bonded == {"H": 1}
    assert "atom 2 (H)" in why.text and chosen.subset is None
