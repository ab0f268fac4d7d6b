"""The real stage implementations: explore, select, label, augment, train, predict.

:class:`DefaultParts` binds the packages of alearn to the loop's :class:`~alearn.campaign.parts.Parts`
seam.  Reference calculations go through the dispatcher (job directories under
``[dispatch] jobs_dir``, by default the campaign's ``jobs/``); the engine of ``[dispatch]`` is
started on first use and stopped by ``close``.  The walkers of an exploration run through the
same engine, in parallel; each has its own seed derived from (campaign seed, iteration, walker
index), so the frames and the whole campaign are reproducible whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from ase import Atoms

from alearn.campaign.initial import initial_geometries, rattled, reference_md
from alearn.campaign.layout import CampaignDir
from alearn.campaign.parts import Context
from alearn.data.records import LabelledStructure, Source
from alearn.errors import UserError
from alearn.models.prediction import Prediction

SUBSET_KEY = "alearn_subset"


class DefaultParts:
    """Stage implementations on alearn's packages (see module docstring)."""

    def __init__(self, config: Any, layout: CampaignDir, console: Any) -> None:
        from alearn.label.registry import make_calculator

        self.config, self.layout, self.console = config, layout, console
        self.calculator = make_calculator(config.reference)
        self._stack = contextlib.ExitStack()
        self._engine: Any = None

    def engine(self) -> Any:
        if self._engine is None:
            from alearn.label.engines import make_engine

            self._engine = self._stack.enter_context(make_engine(self.config.dispatch))
        return self._engine

    def close(self) -> None:
        self._stack.close()
        self._engine = None

    # iteration 0 ------------------------------------------------------------------------
    def initial(self, ctx: Context) -> dict[str, Any]:
        cfg = self.config.initial
        if cfg.source == "dataset":
            return self._import(ctx, cfg.dataset)
        starts = initial_geometries(self.config.campaign.structures)
        if cfg.source == "rattle":
            return self.label(ctx, rattled(starts, cfg.copies, cfg.rattle_std_A, ctx.rng("initial")))
        return self._reference_md(ctx, starts)

    def _reference_md(self, ctx: Context, starts: Sequence[Atoms]) -> dict[str, Any]:
        """``[initial] source = "md"``: every MD step is a (durable) reference calculation; the
        store keeps them all, the training set every ``md_interval``-th."""
        cfg, rng = self.config.initial, ctx.rng("initial")
        ids: list[int] = []
        calculations = 0
        with ctx.progress(len(starts) * (cfg.md_steps + 1), "iteration 0: reference MD") as bar:
            for start in starts:
                run = reference_md(start, cfg, lambda s: self._label_one(ctx, s, bar), rng)
                ids.extend(run.kept)
                calculations += run.calculations
        return {"row_ids": sorted(set(ids)), "labelled": len(set(ids)), "failed": 0,
                "reference_calculations": calculations}

    def _label_one(self, ctx: Context, structures: Sequence[Atoms],
                   bar: Any) -> list[tuple[float, np.ndarray, int | None]]:
        report = self._dispatch(ctx, structures, None, bar)
        outcome = report.outcomes[0]
        if outcome.row_id is None:
            raise UserError(f"reference MD of iteration 0 stopped: the calculation {outcome.job_hash} "
                            f"failed ({outcome.reason}); see {self.layout.jobs / outcome.job_hash}")
        row = ctx.store.get(outcome.row_id)
        return [(row.labels.energy, np.asarray(row.labels.forces), outcome.row_id)]

    def _import(self, ctx: Context, path: Path) -> dict[str, Any]:
        from alearn.train.data import read_files

        structures = read_files([path])
        items = [(s.atoms, s.labels, dataclasses.replace(s.provenance, source=Source.IMPORTED, iteration=0))
                 for s in structures]
        results = ctx.store.add_many(items, origins=[f"{path}:{i}" for i in range(len(items))])
        ids = [r.id for r in results if hasattr(r, "id")]
        rejected = [r.reason for r in results if not hasattr(r, "id")]
        for reason in rejected:
            ctx.log.warning("imported structure rejected: %s", reason)
        return {"row_ids": ids, "labelled": 0, "failed": 0, "imported": len(ids), "rejected": len(rejected)}

    # exploration and selection ------------------------------------------------------------
    def explore(self, ctx: Context, model: Path, workdir: Path) -> dict[str, Any]:
        from alearn.explore.run import run_walkers, walker_plan

        plan = walker_plan(self.config.explore, self.config.select, ctx.iteration)
        starts = self._starts(ctx)
        with ctx.progress(plan.walkers, f"iteration {ctx.iteration}: exploring") as bar:
            result = run_walkers(starts, plan, str(model), self.engine(), ctx.stage_seed("explore"),
                                 workdir, on_done=lambda outcome: bar.advance())
        counts = result.counts
        return {"walkers": len(result.walkers), "frames": counts.total, "accurate": counts.accurate,
                "candidate": counts.candidate, "failed": counts.failed,
                "temperature_K": float(getattr(plan.stage, "temperature_K", 0.0) or 0.0),
                "stopped": {w.stop_reason: 0 for w in result.walkers} | _stops(result.walkers)}

    def _starts(self, ctx: Context) -> list[Atoms]:
        return initial_geometries(self.config.campaign.structures)

    def select(self, ctx: Context, model: Path, explore_dir: Path) -> tuple[list[Atoms], dict[str, Any]]:
        from alearn.explore.run import ExplorationResult
        from alearn.select.selector import select_candidates

        result = ExplorationResult.load(explore_dir)
        calibration = self._calibration(ctx, model)
        selection = select_candidates(result, self.config.select, calibration=calibration)
        chosen = []
        for item in selection.selected:
            atoms = item.atoms.copy()
            atoms.calc = None
            if item.subset is not None:
                atoms.info[SUBSET_KEY] = item.subset
            chosen.append(atoms)
        contacts, contact_summary = self._close_contacts(ctx, model, result)
        c = selection.counts
        return chosen + contacts, {"accurate": c.accurate, "candidate": c.candidate, "failed": c.failed,
                                   "lo": float(selection.lo), "close_contacts": len(contacts),
                                   **contact_summary,
                                   "candidates_decorrelated": selection.decorrelated,
                                   "calibration": _calibration_summary(selection.calibration)}

    def _calibration(self, ctx: Context, model: Path) -> Any:
        """``adaptive = "calibrated"``: the exploring model's spread vs its true error on the
        held-out reference structures (never trained on); ``None`` when fewer than 3 exist yet."""
        cfg = self.config.select
        if cfg.adaptive != "calibrated":
            return None
        from alearn.campaign.testset import split
        from alearn.models import load
        from alearn.select.calibration import calibrate_on_labelled
        from alearn.select.measures import make_measure

        rows = list(ctx.store.rows(source=Source.REFERENCE))
        held_out = set(split(rows, ctx.seed, self.config.evaluate.test_fraction).test)
        test = [r for r in rows if r.id in held_out]
        if len(test) < 3:
            ctx.log.info(f"calibration: {len(test)} held-out structures, need 3; lo stays {cfg.trust.lo}")
            return None
        report = calibrate_on_labelled(test, load(model).as_calculator(), make_measure(cfg),
                                       cfg.target_error)
        ctx.log.info(report.text())
        return report

    def _close_contacts(self, ctx: Context, model: Path, result: Any) -> tuple[list[Atoms], dict[str, Any]]:
        """Compressed structures where walkers (nearly) died from close contacts (seed 001),
        and what the iteration records of them: the shortest distance of every element pair in
        the reference data and each structure's pinched pair."""
        from alearn.explore.sanity import PairLimits, min_pair_distances
        from alearn.select.close_contact import correction_set

        cfg = self.config.select.close_contacts
        if not cfg.enabled:
            return [], {}
        training = [r.atoms for r in ctx.store.rows(source=Source.REFERENCE)]

        loaded: list[Any] = []

        def relax() -> Any:          # one surrogate for every relaxation, loaded on first use
            if not loaded:
                from alearn.models import load

                loaded.append(load(model).as_calculator())
            return loaded[0]

        monitor = self.config.explore.monitor
        limits = PairLimits.from_config(monitor.min_distance_factor, monitor.pair_min_distance_A)
        made = correction_set(result, training, cfg, ctx.rng("close-contacts"), relax=relax,
                              limits=limits)
        out = []
        for item in made:
            atoms = item.atoms.copy()
            atoms.calc = None
            out.append(atoms)
        if not made:
            return out, {}
        data_min = {_pair_name(pair): round(d, 4) for pair, d in min_pair_distances(training).items()}
        return out, {"close_contact_data_min_A": data_min,
                     "close_contact_structures": [{"pair": m.pair, "distance_A": round(m.distance_A, 4),
                                                   "target_A": round(m.target_A, 4),
                                                   "compression": round(m.compression, 4)} for m in made]}

    # labelling -----------------------------------------------------------------------------
    def label(self, ctx: Context, structures: Sequence[Atoms]) -> dict[str, Any]:
        groups: dict[str | None, list[Atoms]] = {}
        for atoms in structures:
            groups.setdefault(atoms.info.get(SUBSET_KEY), []).append(atoms)
        ids: list[int] = []
        failures: list[dict[str, str]] = []
        for subset, group in groups.items():
            report = self._dispatch(ctx, group, subset)
            ids.extend(report.row_ids)
            failures.extend({"job": o.job_hash, "status": o.status.value,
                             "kind": o.kind.value if o.kind else "", "reason": o.reason[:300]}
                            for o in report.failures)
        return {"row_ids": ids, "labelled": len(ids), "failed": len(failures), "failures": failures}

    def _dispatch(self, ctx: Context, structures: Sequence[Atoms], subset: str | None,
                  bar: Any = None) -> Any:
        """Label ``structures`` through the dispatcher (``bar``: a progress bar to advance;
        default: a bar of its own)."""
        from alearn.label.dispatcher import label_structures

        dispatch = self.config.dispatch
        with contextlib.ExitStack() as stack:
            if bar is None:
                bar = stack.enter_context(ctx.progress(len(structures), f"iteration {ctx.iteration}: labelling"))
            return label_structures(
                structures, self.calculator, self.config.reference.profile, ctx.store,
                engine=self.engine(), jobs_dir=self.layout.jobs, iteration=ctx.iteration,
                attempts=dispatch.attempts, timeout_s=dispatch.timeout_s,
                max_concurrent=dispatch.max_concurrent or dispatch.workers, subset=subset,
                progress=lambda outcome, done, total: bar.advance())

    # augmentation ----------------------------------------------------------------------------
    def augment(self, ctx: Context, reference_ids: Sequence[int], workdir: Path) -> tuple[list[Atoms], dict[str, Any]]:
        cfg = self.config.augment
        rows = canonical_order(r for r in ctx.store.rows(ids=reference_ids) if r.labels.forces is not None)
        if cfg.kind == "none" or not rows:
            return [], {"row_ids": [], "augmented": 0}
        if cfg.kind == "taylor":
            from alearn.augment.taylor import taylor_augment

            derived = taylor_augment(rows, cfg, ctx.rng("augment"))
            return [], {**self._store_derived(ctx, derived)}
        from alearn.augment.gpr import gpr_augment

        result = gpr_augment(rows, cfg, ctx.rng("augment"))
        gated = [c.atoms.copy() for c in result.to_label]
        report = result.report
        return gated, {**self._store_derived(ctx, result.added), "copies": report.copies,
                       "gated_copies": report.to_label, "fit_s": round(report.fit_s, 3)}

    def _store_derived(self, ctx: Context, derived: Sequence[LabelledStructure]) -> dict[str, Any]:
        items = [(s.atoms, s.labels, dataclasses.replace(s.provenance, iteration=ctx.iteration))
                 for s in derived]
        results = ctx.store.add_many(items) if items else []
        ids = [r.id for r in results if hasattr(r, "id")]
        return {"row_ids": ids, "augmented": len(ids), "rejected": len(results) - len(ids)}

    # training and prediction ------------------------------------------------------------------
    def train(self, ctx: Context, train_ids: Sequence[int], previous: Path | None, out: Path) -> dict[str, Any]:
        rows = canonical_order(ctx.store.rows(ids=train_ids))
        if self.config.model.kind == "gpr":
            return _train_gpr(ctx, rows, self.config.model, out)
        return _train_committee(ctx, rows, self.config, previous, out)

    def predict(self, model: Path, structures: Sequence[Atoms]) -> Prediction:
        from alearn.models import load

        return load(model).predict(list(structures))


def canonical_order(rows: Iterable[LabelledStructure]) -> list[LabelledStructure]:
    """``rows`` sorted by content (job hash, or structure hash for other rows), not by store id:
    ids follow the order in which parallel calculations happened to finish, and augmentation
    and training must not depend on it."""
    from alearn.campaign.testset import row_key

    return sorted(rows, key=lambda r: (row_key(r), r.provenance.source.value))


def _pair_name(pair: tuple[int, int]) -> str:
    from ase.data import chemical_symbols

    return f"{chemical_symbols[pair[0]]}-{chemical_symbols[pair[1]]}"


def _stops(walkers: Sequence[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for w in walkers:
        out[w.stop_reason] = out.get(w.stop_reason, 0) + 1
    return out


def _train_committee(ctx: Context, rows: list[LabelledStructure], config: Any, previous: Path | None,
                     out: Path) -> dict[str, Any]:
    from alearn.models.io import load_committee, save_committee
    from alearn.train.trainer import train_committee

    loop = config.loop
    fresh = loop.fresh_every > 0 and ctx.iteration % loop.fresh_every == 0
    warm = load_committee(previous) if previous is not None and loop.warm_start and not fresh else None
    epochs = config.train.epochs
    with ctx.progress(epochs, f"iteration {ctx.iteration}: training") as bar:
        model, report = train_committee(rows, [], config.descriptor, config.model, config.train,
                                        seed=ctx.stage_seed("train"), warm_start=warm,
                                        progress=lambda epoch, metrics: bar.advance())
    save_committee(model, out)
    return {"epochs": report.epochs, "seconds_per_epoch": round(report.seconds_per_epoch, 4),
            "hidden": list(report.hidden), "n_train": report.n_train, "n_valid": report.n_valid,
            "warm_start": warm is not None, "valid": report.valid_metrics}


def _train_gpr(ctx: Context, rows: list[LabelledStructure], cfg: Any, out: Path) -> dict[str, Any]:
    from alearn.models.gpr import LocalGPR

    with_forces = [r for r in rows if r.labels.forces is not None]
    if not with_forces:
        raise UserError("the GPR surrogate needs reference structures with forces; none are in the training set")
    model = LocalGPR.fit(with_forces, cfg, seed=ctx.stage_seed("train"))
    model.save(out)
    return {"subsets": len(model.subsets), "n_train": len(with_forces)}


def default_parts(config: Any, layout: CampaignDir, console: Any) -> DefaultParts:
    """The parts of a real campaign."""
    return DefaultParts(config, layout, console)


def _calibration_summary(report: Any) -> dict[str, Any] | None:
    """What the snapshot records of a calibration (``adaptive = "calibrated"``)."""
    if report is None:
        return None
    return {"structures": report.n, "slope": report.slope, "spearman": report.spearman,
            "suggested_lo": report.suggested_lo}
