"""The maxdet and lcmd selector plugins on a real (random) committee through select_candidates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alearn import registry
from alearn.config.explore import SelectConfig, TrustConfig
from alearn.config.schema import build
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.errors import UserError
from alearn.models.committee import Committee
from alearn.select.selector import select_candidates

torch.set_num_threads(1)


def committee() -> Committee:
    model = Committee(ChebyshevSpec(("H", "O"), 4.0, 3.0, 4, 2), (5, 4), "softplus", 2, seeds=(0, 1))
    with torch.no_grad():
        model.scale.fill_(0.5)
    return model


@pytest.mark.parametrize("kind", ["maxdet", "lcmd"])
def test_batch_selectors_pick_distinct_frames_away_from_the_training_data(tmp_path, make_result,
                                                                           make_dimer, kind):
    train = [LabelledStructure(make_dimer(0.74 + 0.01 * k), Labels(0.0, np.zeros((3, 3))),
                               Provenance(Source.REFERENCE)) for k in range(6)]
    near = [(10 * k, 0.5, make_dimer(0.75 + 0.002 * k)) for k in range(6)]
    far = [(100 + 10 * k, 0.5, make_dimer(1.3 + 0.05 * k)) for k in range(3)]
    result = make_result(tmp_path, [near + far], lo=0.1, hi=1.0)
    cfg = build(SelectConfig, {"selector": kind, "budget": 2, "min_frame_gap": 0,
                               "trust": {"lo": 0.1, "hi": 1.0}}, path="select")
    model = committee()
    selection = select_candidates(result, cfg, surrogate=lambda: model, training=lambda: train)
    steps = [s.step for s in selection.selected]
    assert len(set(steps)) == 2
    assert any(step >= 100 for step in steps)            # at least one frame far from training
    with pytest.raises(UserError, match="training structures"):
        select_candidates(result, cfg, surrogate=lambda: model)


def test_maxdet_is_registered_with_its_params():
    plugin = registry.plugins(registry.SELECTORS)["maxdet"]
    params = build(plugin.Params, {"kind": "maxdet", "noise": 0.5}, path="select.selector")
    assert params.noise == 0.5 and params.features == "last_layer"
    assert isinstance(build(SelectConfig, {"selector": "lcmd", "trust": TrustConfig().__dict__},
                            path="select").selector, registry.plugins(registry.SELECTORS)["lcmd"].Params)
