"""The validation set: drawn blind to the uncertainty, reproducible, never trained on."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from ase import Atoms

from alearn.campaign.records import EvaluateRecord, FrameError
from alearn.campaign.validation import (FRAME_KEY, draw, learning_curve, sane_frames,
                                        validation_frames)
from alearn.config.loop import EvaluateConfig
from alearn.config.schema import ConfigError, build
from alearn.explore.monitor import FrameStatus


@dataclass
class _Frames:
    status: np.ndarray
    measure: np.ndarray

    def atoms(self, k: int) -> Atoms:
        return Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7 + 0.01 * k]])


class _Result:
    """An exploration of two walkers with given statuses and measure values."""

    def __init__(self, status: list[list[FrameStatus]], measure: list[list[float]]) -> None:
        self.walkers = tuple(SimpleNamespace(walker=w) for w in range(len(status)))
        self._frames = [_Frames(np.array([s.code for s in st]), np.array(m))
                        for st, m in zip(status, measure)]

    def walker_frames(self, walker: int) -> _Frames:
        return self._frames[walker]


ACC, CAND, FAIL, INSANE = (FrameStatus.ACCURATE, FrameStatus.CANDIDATE, FrameStatus.FAILED,
                           FrameStatus.INSANE)


def _keys(result: _Result, seed: int, n: int = 3) -> list[str]:
    return [a.info[FRAME_KEY] for a in validation_frames(result, n, np.random.default_rng(seed))]


def test_the_draw_is_blind_to_the_uncertainty_and_reproducible() -> None:
    frames = [[ACC, CAND, FAIL, CAND, ACC, ACC], [CAND, INSANE, ACC, ACC, FAIL, CAND]]
    low = _Result(frames, [[0.01] * 6, [0.02] * 6])
    high = _Result([[CAND] * 6, [FAIL, INSANE, CAND, CAND, FAIL, FAIL]],
                   [[0.9, 5.0, 0.3, 0.2, 7.0, 0.1], [3.0, 1.0, 0.5, 0.6, 9.0, 0.4]])
    assert _keys(low, 11) == _keys(high, 11)          # same frames whatever the measures say
    assert _keys(low, 11) == _keys(low, 11)           # reproducible
    assert {tuple(_keys(low, s)) for s in range(8)} != {tuple(_keys(low, 11))}   # seed matters


def test_insane_frames_are_never_drawn_and_failed_ones_can_be() -> None:
    result = _Result([[INSANE, FAIL, INSANE], [INSANE, FAIL, INSANE]], [[1.0] * 3, [1.0] * 3])
    assert sane_frames(result) == [(0, 1), (1, 1)]
    assert sorted(_keys(result, 0, n=5)) == ["0:1", "1:1"]


def test_draw_takes_all_when_fewer_and_none_for_zero() -> None:
    rng = np.random.default_rng(0)
    assert sorted(draw([1, 2], 5, rng)) == [1, 2]
    assert draw([1, 2], 0, rng) == []


def test_negative_validation_count_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        build(EvaluateConfig, {"validation_per_iteration": -1}, file="c.toml", path="evaluate")
    assert info.value.key == "evaluate.validation_per_iteration"


def _manifest(iteration: int, errors: list[tuple[int, float]]) -> SimpleNamespace:
    frames = tuple(FrameError(row, n, e) for row, (n, e) in enumerate(errors))
    return SimpleNamespace(iteration=iteration,
                           metrics=EvaluateRecord(validation_frames=frames or None))


def test_learning_curve_is_on_one_fixed_prefix_of_the_set() -> None:
    manifests = [_manifest(0, []), _manifest(1, [(3, 0.4), (3, 0.2)]),
                 _manifest(2, [(3, 0.2), (3, 0.2), (6, 1.0)])]
    curve = learning_curve(manifests)
    assert [(p.iteration, p.frames, p.set_size) for p in curve] == [(1, 2, 2), (2, 2, 3)]
    assert curve[0].force_rmse_eV_A == pytest.approx(np.sqrt((0.16 + 0.04) / 2))
    assert curve[1].force_rmse_eV_A == pytest.approx(0.2)     # the late frame is not in it
    assert [p.iteration for p in learning_curve(manifests, frames=3)] == [2]


def test_real_campaign_records_validation_and_the_calibrated_window(tmp_path) -> None:
    """The main example, shortened: iteration 1 uses the fallback, iteration 2 a window fitted on
    iteration 1's validation frames; both record it, and the validation rows stay untrained."""
    from quick_campaigns import quick_toml

    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.loop import run_campaign
    from alearn.campaign.snapshot import verify_all
    from alearn.campaign.trusting import FALLBACK

    toml = quick_toml("water-cluster-xtb", tmp_path)
    text = toml.read_text().replace("max_iterations = 1", "max_iterations = 2")
    toml.write_text(text)
    run_campaign(toml, directory=tmp_path / "run")
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    first, second = manifests[1], manifests[2]
    assert first["trust"]["source"] == FALLBACK and second["trust"]["source"] == "validation"
    assert second["trust"]["frames"] == 3 and set(second["trust"]["per_element"]) == {"H", "O"}
    for m in (first, second):
        assert (m["window"]["lo"], m["window"]["hi"]) == (m["trust"]["lo"], m["trust"]["hi"]) == (0.25, 1.25)
        assert not set(m["dataset"]["validation_ids"]) & set(m["dataset"]["train_ids"])
    assert second["counts"]["validation"] == 3 and second["metrics"]["validation"]["structures"] == 6
