"""The first-party surrogate plugins: warm starts that no longer fit, calculator options, one
source per default."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.errors import UserError
from alearn.models.protocol import SurrogatePlugin, TrainRequest
from alearn.train.surrogates import CommitteeSurrogate, GprSurrogate
from alearn.train.trainer import train_committee

DESCRIPTOR = DescriptorConfig(radial_cutoff_A=4.0, angular_cutoff_A=3.0, radial_order=4,
                              angular_order=2)
TRAIN = TrainConfig(epochs=2, batch_size=4, patience=0)


def request(rows, warm=None) -> TrainRequest:
    return TrainRequest(tuple(rows), 3, DESCRIPTOR, TRAIN, warm)


def test_both_plugins_follow_the_protocol() -> None:
    assert isinstance(CommitteeSurrogate(CommitteeConfig()), SurrogatePlugin)
    assert isinstance(GprSurrogate(GprSurrogate.Params()), SurrogatePlugin)


def test_a_warm_start_that_no_longer_fits_trains_afresh_and_says_why(tmp_path, cu_data) -> None:
    rows = cu_data(6)
    small = CommitteeConfig(members=2, hidden=(4,))
    first = CommitteeSurrogate(small).train(request(rows))
    first.model.save(tmp_path / "m")
    same = CommitteeSurrogate(small).train(request(rows, tmp_path / "m")).summary
    assert same.warm_start and same.fresh_reason is None
    grown = CommitteeSurrogate(dataclasses.replace(small, members=3)).train(request(rows, tmp_path / "m"))
    assert not grown.summary.warm_start and grown.model.members == 3
    assert "members 2 -> 3" in grown.summary.fresh_reason
    with pytest.raises(UserError, match=r"members 2 -> 3.*hidden \[4\] -> \[5\]"):
        train_committee(rows, [], DESCRIPTOR, dataclasses.replace(small, members=3, hidden=(5,)),
                        TRAIN, seed=1, warm_start=first.model)


def test_calculator_options_come_from_model_and_defaults_from_one_place(tmp_path, cu_data) -> None:
    from alearn.descriptors.chebyshev import ChebyshevSpec
    from alearn.explore.walker import model_calculator

    plugin = CommitteeSurrogate(CommitteeConfig(members=2, hidden=(4,), dtype="float32", skin_A=0.5))
    assert plugin.calculator_options() == {"dtype": "float32", "skin_A": 0.5}
    plugin.train(request(cu_data(4))).model.save(tmp_path / "m")
    calc = model_calculator(str(tmp_path / "m"), **plugin.calculator_options())
    assert calc.evaluate.committee.dtype == torch.float32 and calc.evaluate.skin_A == 0.5
    default = model_calculator(str(tmp_path / "m"))
    assert default.evaluate.skin_A == CommitteeConfig().skin_A
    assert default.evaluate.committee.dtype == getattr(torch, CommitteeConfig().dtype)
    # alearn/descriptors (issue 14's) keeps defaults of its own; they must stay [descriptor]'s
    spec_defaults = {f.name: f.default for f in dataclasses.fields(ChebyshevSpec) if f.name != "elements"}
    assert spec_defaults == {k: getattr(DescriptorConfig(), k) for k in spec_defaults}


def test_committee_training_reports_every_epoch_with_its_loss(cu_data) -> None:
    """The training bar moves per epoch and shows the current loss and validation score."""
    seen: list[tuple[int, int, dict]] = []
    req = dataclasses.replace(request(cu_data(6)), progress=lambda done, total, **facts: seen.append(
        (done, total, facts)))
    CommitteeSurrogate(CommitteeConfig(members=2, hidden=(4,))).train(req)
    assert [(d, t) for d, t, _ in seen] == [(1, 2), (2, 2)]
    assert all(set(f) == {"loss", "valid"} and f["loss"] > 0 for _, _, f in seen)
