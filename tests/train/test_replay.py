"""[train] replay: a warm-started committee trains on the new structures plus a replayed sample
of the old ones (copies with their parent), so its work scales with the new data."""

from __future__ import annotations

import dataclasses

import numpy as np

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.data.records import LabelledStructure, Provenance, Source
from alearn.models.protocol import TrainRequest
from alearn.train.incremental import replay_subset
from alearn.train.surrogates import CommitteeSurrogate

DESCRIPTOR = DescriptorConfig(radial_cutoff_A=4.0, angular_cutoff_A=3.0, radial_order=4,
                              angular_order=2)


def at_iteration(rows: list[LabelledStructure], iteration: int, first_id: int) -> list[LabelledStructure]:
    return [dataclasses.replace(r, id=first_id + k,
                                provenance=dataclasses.replace(r.provenance, iteration=iteration))
            for k, r in enumerate(rows)]


def copy_of(row: LabelledStructure, row_id: int) -> LabelledStructure:
    return dataclasses.replace(row, id=row_id, provenance=Provenance(
        Source.TAYLOR, iteration=row.provenance.iteration, parent=row.id))


def test_new_structures_all_train_and_old_ones_are_sampled_with_their_copies(cu_data) -> None:
    old = at_iteration(cu_data(20), 0, 1)
    new = at_iteration(cu_data(3), 1, 101)
    copies = [copy_of(r, 200 + k) for k, r in enumerate(old + new)]
    chosen, plan = replay_subset(old + new + copies, 0, 2.0, 4, np.random.default_rng(0))
    assert (plan.new, plan.replayed, plan.old) == (3, 6, 20)
    ids = {r.id for r in chosen}
    assert {r.id for r in new} <= ids
    parents = [r for r in chosen if r.provenance.source is not Source.TAYLOR]
    assert len(parents) == 9
    for c in copies:  # a copy trains exactly when its parent does
        assert (c.id in ids) == (c.provenance.parent in ids)
    again, _ = replay_subset(old + new + copies, 0, 2.0, 4, np.random.default_rng(1))
    assert {r.id for r in again} != ids  # a fresh sample each draw
    few, plan = replay_subset(old + new, 0, 0.5, 5, np.random.default_rng(0))
    assert plan.replayed == 5 and len(few) == 8  # replay_min when replay × new is smaller


def test_the_plugin_replays_after_a_warm_start_and_records_what_it_saw(tmp_path, cu_data) -> None:
    small = CommitteeConfig(members=2, hidden=(4,))
    train = TrainConfig(epochs=2, batch_size=4, patience=0, replay=1.0, replay_min=2,
                        validation_fraction=0.0)
    first_rows = at_iteration(cu_data(12), 0, 1)
    first = CommitteeSurrogate(small).train(TrainRequest(tuple(first_rows), 3, DESCRIPTOR, train))
    assert first.summary.n_train == 12 and "replay" not in first.summary.details
    assert first.model.metadata["training"]["seen_through_iteration"] == 0
    first.model.save(tmp_path / "m")
    rows = first_rows + at_iteration(cu_data(3, seed=5), 1, 50)
    second = CommitteeSurrogate(small).train(TrainRequest(tuple(rows), 4, DESCRIPTOR, train,
                                                          tmp_path / "m"))
    assert second.summary.details["replay"] == {"new": 3, "replayed": 3, "old": 12}
    assert second.summary.n_train == 6
    assert second.model.metadata["training"]["seen_through_iteration"] == 1
    off = CommitteeSurrogate(small).train(TrainRequest(
        tuple(rows), 4, DESCRIPTOR, dataclasses.replace(train, replay=0.0), tmp_path / "m"))
    assert off.summary.n_train == 15 and "replay" not in off.summary.details
