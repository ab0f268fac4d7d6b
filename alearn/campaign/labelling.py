"""The label stage and iteration 0: reference calculations through the dispatcher, and the
initial data (rattled copies, reference MD, or an imported data set).

Every reference calculation goes through :func:`alearn.label.dispatcher.label_structures`
(job directories in ``[dispatch] jobs_dir``, by default the campaign's ``jobs/``); structures
carrying a fragment type in ``atoms.info[SUBSET_KEY]`` are labelled as that subset.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from ase import Atoms

from alearn.campaign.initial import initial_geometries, rattled, reference_md
from alearn.campaign.parts import Context
from alearn.campaign.records import Failure, LabelRecord
from alearn.data.records import Source
from alearn.errors import UserError

#: ``atoms.info`` key of the store subset (fragment type) a structure is labelled as
SUBSET_KEY = "alearn_subset"


class Labeller:
    """Reference calculations of a campaign: its calculator, profile, dispatch settings and
    job directories, on the engine ``engine()`` (started on first use by the caller)."""

    def __init__(self, calculator: Any, config: Any, jobs_dir: Path, engine: Callable[[], Any]) -> None:
        self.calculator, self.config, self.jobs_dir, self.engine = calculator, config, jobs_dir, engine

    def label(self, ctx: Context, structures: Sequence[Atoms]) -> LabelRecord:
        """Label ``structures`` into the store, grouped by subset."""
        groups: dict[str | None, list[Atoms]] = {}
        for atoms in structures:
            groups.setdefault(atoms.info.get(SUBSET_KEY), []).append(atoms)
        ids: list[int] = []
        failures: list[Failure] = []
        for subset, group in groups.items():
            report = self.dispatch(ctx, group, subset)
            ids.extend(report.row_ids)
            failures.extend(Failure(o.job_hash, o.status.value, o.kind.value if o.kind else "",
                                    o.reason[:300]) for o in report.failures)
        return LabelRecord(tuple(ids), len(ids), len(failures), tuple(failures))

    def dispatch(self, ctx: Context, structures: Sequence[Atoms], subset: str | None,
                 bar: Any = None) -> Any:
        """Label ``structures`` through the dispatcher (``bar``: a progress bar to advance;
        default: a bar of its own)."""
        from alearn.data.gate import GateLimits
        from alearn.label.dispatcher import label_structures

        dispatch = self.config.dispatch
        with contextlib.ExitStack() as stack:
            if bar is None:
                bar = stack.enter_context(ctx.progress(len(structures), f"iteration {ctx.iteration}: labelling"))
            return label_structures(
                structures, self.calculator, self.config.reference.profile, ctx.store,
                engine=self.engine(), jobs_dir=self.jobs_dir, iteration=ctx.iteration,
                attempts=dispatch.attempts, timeout_s=dispatch.timeout_s,
                max_concurrent=dispatch.max_concurrent or dispatch.workers, subset=subset,
                progress=lambda outcome, done, total: bar.advance(),
                gate=GateLimits.from_config(self.config.store), max_crashes=dispatch.max_crashes)


def initial_data(ctx: Context, labeller: Labeller) -> LabelRecord:
    """Iteration 0: ``[initial] source`` rattle, md or dataset into the store; the summary."""
    cfg = ctx.config.initial
    if cfg.source == "dataset":
        return import_dataset(ctx, cfg.dataset)
    starts = initial_geometries(ctx.config.campaign.structures)
    if cfg.source == "rattle":
        return labeller.label(ctx, rattled(starts, cfg.copies, cfg.rattle_std_A, ctx.rng("initial")))
    return reference_md_data(ctx, labeller, starts)


def reference_md_data(ctx: Context, labeller: Labeller, starts: Sequence[Atoms]) -> LabelRecord:
    """``[initial] source = "md"``: every MD step is a (durable) reference calculation; the
    store keeps them all, the training set every ``md_interval``-th."""
    cfg, rng = ctx.config.initial, ctx.rng("initial")
    ids: list[int] = []
    calculations = 0
    with ctx.progress(len(starts) * (cfg.md_steps + 1), "iteration 0: reference MD") as bar:
        for start in starts:
            run = reference_md(start, cfg, lambda s: _label_one(ctx, labeller, s, bar), rng)
            ids.extend(run.kept)
            calculations += run.calculations
    kept = tuple(sorted(set(ids)))
    return LabelRecord(kept, len(kept), 0, reference_calculations=calculations)


def _label_one(ctx: Context, labeller: Labeller, structures: Sequence[Atoms],
               bar: Any) -> list[tuple[float, np.ndarray, int | None]]:
    report = labeller.dispatch(ctx, structures, None, bar)
    outcome = report.outcomes[0]
    if outcome.row_id is None:
        raise UserError(f"reference MD of iteration 0 stopped: the calculation {outcome.job_hash} "
                        f"failed ({outcome.reason}); see {labeller.jobs_dir / outcome.job_hash}")
    row = ctx.store.get(outcome.row_id)
    return [(row.labels.energy, np.asarray(row.labels.forces), outcome.row_id)]


def import_dataset(ctx: Context, path: Path) -> LabelRecord:
    """``[initial] source = "dataset"``: the labelled structures of ``path``, imported as they are."""
    from alearn.train.data import read_files

    structures = read_files([path])
    items = [(s.atoms, s.labels, dataclasses.replace(s.provenance, source=Source.IMPORTED, iteration=0))
             for s in structures]
    results = ctx.store.add_many(items, origins=[f"{path}:{i}" for i in range(len(items))])
    ids = [r.id for r in results if hasattr(r, "id")]
    rejected = [r.reason for r in results if not hasattr(r, "id")]
    for reason in rejected:
        ctx.log.warning("imported structure rejected: %s", reason)
    return LabelRecord(tuple(ids), 0, 0, imported=len(ids), rejected=len(rejected))
