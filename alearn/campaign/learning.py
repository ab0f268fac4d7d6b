"""The augment and train stages: the augmenter and surrogate plugins on the store's rows, read in
content order (``canonical_order``), never in store-id order."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable, Sequence

from ase import Atoms

from alearn.campaign.parts import Context
from alearn.campaign.records import AugmentRecord, TrainRecord
from alearn.data.records import LabelledStructure


def canonical_order(rows: Iterable[LabelledStructure]) -> list[LabelledStructure]:
    """``rows`` sorted by content (job hash, or structure hash for other rows), not by store id:
    ids follow the order in which parallel calculations happened to finish, and augmentation
    and training must not depend on it."""
    from alearn.campaign.testset import row_key

    return sorted(rows, key=lambda r: (row_key(r), r.provenance.source.value))


def augment(ctx: Context, augmenter: Any, reference_ids: Sequence[int],
            engine: Any) -> tuple[list[Atoms], AugmentRecord]:
    """Derived rows from the reference rows with forces, stored with this iteration; returns
    the structures the augmenter wants labelled by the reference instead (GPR gate)."""
    rows = canonical_order(r for r in ctx.store.rows(ids=reference_ids) if r.labels.forces is not None)
    if not rows:
        return [], AugmentRecord()
    result = augmenter.augment(rows, ctx.rng("augment"), engine)
    ids, rejected = store_derived(ctx, result.added)
    return list(result.to_label), AugmentRecord(ids, len(ids), rejected, details=dict(result.details))


def store_derived(ctx: Context, derived: Sequence[LabelledStructure]) -> tuple[tuple[int, ...], int]:
    """Store derived rows with this iteration: (their row ids, how many the store rejected)."""
    items = [(s.atoms, s.labels, dataclasses.replace(s.provenance, iteration=ctx.iteration))
             for s in derived]
    results = ctx.store.add_many(items) if items else []
    ids = tuple(r.id for r in results if hasattr(r, "id"))
    return ids, len(results) - len(ids)


def train(ctx: Context, surrogate: Any, train_ids: Sequence[int], previous: Path | None,
          out: Path, engine: Any) -> TrainRecord:
    """Train the surrogate plugin on the rows ``train_ids`` (warm start from ``previous`` per
    ``[loop]``) and save it into ``out``."""
    from alearn.models.protocol import TrainRequest

    config = ctx.config
    loop = config.loop
    fresh = loop.fresh_every > 0 and ctx.iteration % loop.fresh_every == 0
    warm = previous if previous is not None and loop.warm_start and not fresh else None
    rows = tuple(canonical_order(ctx.store.rows(ids=train_ids)))
    with ctx.progress(None, f"iteration {ctx.iteration}: training") as bar:
        trained = surrogate.train(TrainRequest(rows, ctx.stage_seed("train"), config.descriptor,
                                               config.train, warm, engine, bar.report))
    summary = trained.summary
    if summary.fresh_reason:
        ctx.log.warning("iteration %d: %s", ctx.iteration, summary.fresh_reason)
    trained.model.save(out)
    return TrainRecord(summary.n_train, summary.warm_start, summary.fresh_reason,
                       details=dict(summary.details))
