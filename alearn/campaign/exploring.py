"""The explore and select stages: the iteration's trust window (read once, calibrated before the
walkers start), the explorer plugin, then selection from the frames as the explorer classified
them, plus the close-contact correction set."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from ase import Atoms

from alearn.campaign.initial import initial_geometries
from alearn.campaign.labelling import SUBSET_KEY
from alearn.campaign.parts import Context
from alearn.campaign.records import Calibration, ContactRecord, ExploreRecord, SelectRecord
from alearn.data.records import Source


def _loader(model: Path) -> Callable[[], Any]:
    """``load(model)`` on first call, the same surrogate afterwards."""
    loaded: list[Any] = []

    def surrogate() -> Any:
        if not loaded:
            from alearn.models import load

            loaded.append(load(model))
        return loaded[0]

    return surrogate


def explore(ctx: Context, explorer: Any, measure: Any, model: Path, workdir: Path,
            engine: Any, options: dict[str, Any]) -> ExploreRecord:
    """Run the explorer on ``model`` (its calculator with ``options``); the counts by the
    window (which is recorded)."""
    from alearn.explore.protocol import ExploreRequest
    from alearn.select.window import trust_window

    surrogate = _loader(model)
    calibration = calibrate(ctx, surrogate, measure, options)
    window = trust_window(ctx.config.select, calibration)
    fitted = measure.fit(surrogate, lambda: list(ctx.store.rows(ids=list(ctx.previous_train_ids))))
    trust = None
    if ctx.config.select.target_force_error_eV_A is not None:
        from alearn.campaign.trusting import target_trust

        window, fitted, trust = target_trust(ctx, surrogate, fitted, options)
    starts = tuple(initial_geometries(ctx.config.campaign.structures))
    with ctx.progress(None, f"iteration {ctx.iteration}: exploring", "steps") as bar:
        result = explorer.explore(ExploreRequest(
            ctx.iteration, starts, model, fitted, window, engine, ctx.stage_seed("explore"),
            workdir, progress=bar.report, calculator_options=options))
    counts = result.counts
    stopped: dict[str, int] = {}
    for w in result.walkers:
        stopped[w.stop_reason] = stopped.get(w.stop_reason, 0) + 1
    return ExploreRecord(len(result.walkers), counts.total, counts.accurate, counts.candidate,
                         counts.failed, float(result.temperature_K or 0.0), stopped,
                         window.lo, window.hi, _calibration_record(calibration), trust,
                         details=measure_summary(workdir))


#: the quantiles (%) of the explored frames' measure kept in the explore record (the report's
#: uncertainty figure); 21 numbers however many frames
MEASURE_QUANTILES = tuple(range(0, 101, 5))


def measure_summary(workdir: Path) -> dict[str, Any]:
    """The distribution of the selection measure over the explored frames (all walkers),
    compactly: its 0, 5, …, 100 % quantiles and the number of frames with a finite value."""
    import numpy as np

    values = []
    for path in sorted(workdir.glob("walker_*.npz")):
        with np.load(path) as data:
            values.append(np.asarray(data["measure"], dtype=float))
    every = np.concatenate(values) if values else np.array([])
    finite = every[np.isfinite(every)]
    if finite.size == 0:
        return {}
    return {"measure_frames": int(finite.size),
            "measure_quantiles": [float(f"{q:.4g}") for q in np.percentile(finite, MEASURE_QUANTILES)]}


def calibrate(ctx: Context, surrogate: Callable[[], Any], measure: Any,
              options: dict[str, Any]) -> Any:
    """``adaptive = "calibrated"``: the exploring model's spread vs its true error on the
    held-out reference structures (never trained on); ``None`` when fewer than 3 exist yet."""
    cfg = ctx.config.select
    if cfg.adaptive != "calibrated":
        return None
    from alearn.campaign.testset import split
    from alearn.select.calibration import calibrate_on_labelled

    rows = list(ctx.store.rows(source=Source.REFERENCE))
    held_out = set(split(rows, ctx.seed, ctx.config.evaluate.test_fraction).test)
    test = [r for r in rows if r.id in held_out]
    if len(test) < 3:
        ctx.log.info(f"calibration: {len(test)} held-out structures, need 3; lo stays {cfg.trust.lo}")
        return None
    report = calibrate_on_labelled(test, surrogate().as_calculator(**options), measure,
                                   cfg.target_error)
    ctx.log.info(report.text())
    return report


def validation(ctx: Context, explore_dir: Path, n: int) -> list[Atoms]:
    """This iteration's validation frames (:func:`alearn.campaign.validation.validation_frames`)."""
    from alearn.campaign.validation import validation_frames
    from alearn.explore.run import ExplorationResult

    return validation_frames(ExplorationResult.load(explore_dir), n, ctx.rng("validation"))


def select(ctx: Context, selector: Any, model: Path, explore_dir: Path,
           options: dict[str, Any]) -> tuple[list[Atoms], SelectRecord]:
    """The structures to label from the frames below ``explore_dir``, and the record
    (close contacts are relaxed on the model's calculator with ``options``)."""
    from alearn.explore.run import ExplorationResult
    from alearn.select.selector import select_candidates

    from alearn.campaign.progress import Stage, stage_dir
    from alearn.campaign.validation import VALIDATION_FILE, drawn_keys

    result = ExplorationResult.load(explore_dir)
    surrogate = _loader(model)
    held = drawn_keys(stage_dir(ctx.staging, Stage.VALIDATE) / VALIDATION_FILE)
    selection = select_candidates(result, ctx.config.select, selector=selector,
                                  surrogate=surrogate, seed=ctx.stage_seed("select"), exclude=held,
                                  training=lambda: list(ctx.store.rows(ids=list(ctx.previous_train_ids))))
    chosen = []
    for item in selection.selected:
        atoms = item.atoms.copy()
        atoms.calc = None
        if item.subset is not None:
            atoms.info[SUBSET_KEY] = item.subset
        chosen.append(atoms)
    contacts, record = close_contacts(ctx, surrogate, result, options)
    return chosen + contacts, dataclasses.replace(
        record, lo=float(selection.lo), candidates_decorrelated=selection.decorrelated)


def close_contacts(ctx: Context, surrogate: Callable[[], Any], result: Any,
                   options: dict[str, Any]) -> tuple[list[Atoms], SelectRecord]:
    """Compressed structures where walkers (nearly) died from close contacts (seed 001),
    and what the iteration records of them: the shortest distance of every element pair in
    the reference data and each structure's pinched pair."""
    from alearn.config.explore import MonitorConfig
    from alearn.explore.sanity import PairLimits, min_pair_distances
    from alearn.select.close_contact import correction_set

    cfg = ctx.config.select.close_contacts
    if not cfg.enabled:
        return [], SelectRecord()
    held = set(ctx.previous_validation_ids)      # and this iteration's draw (labelled already)
    training = [r.atoms for r in ctx.store.rows(source=Source.REFERENCE)
                if r.id not in held and r.provenance.iteration < ctx.iteration]
    calculator: list[Any] = []

    def relax() -> Any:          # one surrogate calculator for every relaxation, on first use
        if not calculator:
            calculator.append(surrogate().as_calculator(**options))
        return calculator[0]

    monitor = getattr(ctx.config.explore, "monitor", None) or MonitorConfig()
    limits = PairLimits.from_config(monitor.min_distance_factor, monitor.pair_min_distance_A)
    made = correction_set(result, training, cfg, ctx.rng("close-contacts"), relax=relax,
                          limits=limits)
    out = []
    for item in made:
        atoms = item.atoms.copy()
        atoms.calc = None
        out.append(atoms)
    if not made:
        return out, SelectRecord()
    data_min = {_pair_name(pair): round(d, 4) for pair, d in min_pair_distances(training).items()}
    return out, SelectRecord(close_contacts=len(out), close_contact_data_min_A=data_min,
                             close_contact_structures=tuple(
                                 ContactRecord(m.pair, round(m.distance_A, 4), round(m.target_A, 4),
                                               round(m.compression, 4)) for m in made))


def _pair_name(pair: tuple[int, int]) -> str:
    from ase.data import chemical_symbols

    return f"{chemical_symbols[pair[0]]}-{chemical_symbols[pair[1]]}"


def _calibration_record(report: Any) -> Calibration | None:
    """What the snapshot records of a calibration (``adaptive = "calibrated"``)."""
    if report is None:
        return None
    return Calibration(report.n, report.slope, report.spearman, report.suggested_lo)


__all__ = ["calibrate", "close_contacts", "explore", "select"]
