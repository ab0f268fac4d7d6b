"""The gradient-feature measures as plugins: fitted on a model and its training rows, evaluated
per frame (as the walkers' monitors do) exactly as in a batch, picklable, with clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from ase import Atoms

from alearn import registry
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.errors import UserError
from alearn.models.committee import Committee

torch.set_num_threads(1)


def committee() -> Committee:
    spec = ChebyshevSpec(("H", "O"), 4.0, 3.0, 4, 2)
    model = Committee(spec, (5, 4), "softplus", 2, seeds=(0, 1))
    with torch.no_grad():
        model.scale.fill_(0.5)
    return model


def water(seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    pos = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0],
                    [2.9, 0.3, 0.0], [3.86, 0.3, 0.0], [2.66, 1.23, 0.0]])
    return Atoms("OH2OH2", positions=pos + rng.normal(0, 0.05, pos.shape))


def rows(n: int) -> list[LabelledStructure]:
    return [LabelledStructure(water(s), Labels(0.0, np.zeros((6, 3))), Provenance(Source.REFERENCE))
            for s in range(n)]


@pytest.mark.parametrize("params", [{"kind": "gradient_std"},
                                    {"kind": "gradient_std", "level": "structure"},
                                    {"kind": "gradient_std", "features": "sketch", "sketch_dim": 8},
                                    {"kind": "doptimal"}])
def test_fitted_measure_evaluates_frames_like_a_batch_and_pickles(params):
    from alearn.config.schema import build

    plugin = registry.plugins(registry.MEASURES)[params["kind"]]
    measure = plugin(build(plugin.Params, params, path="select.measure"))
    model = committee()
    fitted = pickle.loads(pickle.dumps(measure.fit(lambda: model, lambda: rows(30))))
    frames = [water(100 + k) for k in range(3)]
    batch = fitted.values(model, frames)
    for atoms, expected in zip(frames, batch):
        got = fitted.evaluate(atoms, {}, model)
        assert got.value == pytest.approx(expected.value, rel=1e-9)
        if expected.per_atom is not None:
            assert got.per_atom.shape == (6,) and got.value == pytest.approx(got.per_atom.max())
    labels = Labels(0.0, np.ones((6, 3)))
    assert fitted.true_error(frames[0], {"forces": np.zeros((6, 3))}, labels) == pytest.approx(np.sqrt(3))


def test_unfitted_or_committee_less_use_is_a_clear_error():
    from alearn.select.gradient_measure import GradientStd

    measure = GradientStd(GradientStd.Params())
    with pytest.raises(UserError, match="not fitted"):
        measure.evaluate(water(0), {}, committee())
    with pytest.raises(UserError, match="needs the committee"):
        measure.fit(lambda: object(), lambda: rows(3))
    with pytest.raises(UserError, match="training structures"):
        measure.fit(committee, lambda: [])
