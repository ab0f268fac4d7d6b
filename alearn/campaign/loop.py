"""``alearn run``: the active-learning loop over durable, immutable iterations."""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from alearn.files import canonical_json, sha256_text
from alearn.campaign.datahash import content_hash
from alearn.campaign.layout import CampaignDir, CampaignLock
from alearn.campaign.parts import Context, Parts
from alearn.campaign.progress import Progress, Stage, kill_hook, stages_for
from alearn.campaign.records import (RECORD_VERSION, Counts, Dataset, EvaluateRecord,
                                     IterationManifest, Window, read_manifests)
from alearn.campaign.setup import open_campaign, reconcile_store, run_logger
from alearn.campaign.snapshot import clear_stale_staging, commit
from alearn.campaign.stages import STAGE_FUNCTIONS, dataset_split, validation_ids
from alearn.campaign.stop import IterationFacts, stop_reason
from alearn.config.schema import to_dict

PartsFactory = Callable[[Any, CampaignDir, Any], Parts]


@dataclass(frozen=True)
class Outcome:
    """How a run ended."""

    directory: Path
    iterations: int          # committed snapshots, iteration 0 included
    stop_reason: str
    resumed: bool
    ran: int = 0             # iterations committed by this run (0: there was nothing to do)


def run_campaign(source: Path, *, directory: Path | None = None, allow_changes: bool = False,
                 parts_factory: PartsFactory | None = None, console: Any = None) -> Outcome:
    """Run (or resume) the campaign ``source`` (a TOML file or a campaign directory)."""
    layout, config, resumed = open_campaign(source, directory, allow_changes)
    with CampaignLock(layout.lock_file):
        log = run_logger(layout)
        try:
            return _run_locked(layout, config, resumed, parts_factory, console, log)
        finally:
            for handler in list(log.handlers):
                handler.close()
                log.removeHandler(handler)


def _run_locked(layout: CampaignDir, config: Any, resumed: bool, parts_factory: PartsFactory | None,
                console: Any, log: logging.Logger) -> Outcome:
    manifests = read_manifests(layout)
    for path in clear_stale_staging(layout, keep=len(manifests)):
        log.info("removed stale staging directory %s", path)
    start = time.monotonic()
    before = len(manifests)
    reason = _reason(manifests, config, 0.0)
    if reason is not None:
        log.info("nothing to do: %s", reason)
        return Outcome(layout.root, len(manifests), reason, resumed)
    parts = _make_parts(parts_factory, config, layout, console)
    from alearn.data.store import Store

    try:
        with Store.open(_store_url(layout, config), min_distance_A=config.store.min_distance_A) as store:
            reconcile_store(store, layout, manifests, log)
            while reason is None:
                manifest = run_iteration(layout, config, parts, store, manifests, start, log, console)
                manifests.append(manifest)
                reason = manifest.stop_reason
    finally:
        _close(parts)
    log.info("stopped: %s", reason)
    return Outcome(layout.root, len(manifests), reason, resumed, len(manifests) - before)


def _make_parts(factory: PartsFactory | None, config: Any, layout: CampaignDir, console: Any) -> Parts:
    if factory is None:
        from alearn.campaign.adapters import default_parts as factory
    return factory(config, layout, console)


def _close(parts: Parts) -> None:
    close = getattr(parts, "close", None)
    if close is not None:
        close()


def _store_url(layout: CampaignDir, config: Any) -> str:
    url = config.store.url
    return url if "://" in url else str(layout.root / url)


def _reason(manifests: list[IterationManifest], config: Any, elapsed_s: float) -> str | None:
    facts = [IterationFacts.from_manifest(m) for m in manifests]
    return stop_reason(facts, config.stop, elapsed_s, config.select.target_force_error_eV_A)


def run_iteration(layout: CampaignDir, config: Any, parts: Parts, store: Any,
                  manifests: list[IterationManifest], start: float, log: logging.Logger,
                  console: Any) -> IterationManifest:
    """Run the remaining stages of the next iteration and commit its snapshot."""
    iteration = len(manifests)
    previous = manifests[-1] if manifests else None
    model = layout.snapshot(iteration - 1) / previous.model if previous else None
    staging = layout.staging(iteration)
    staging.mkdir(parents=True, exist_ok=True)
    trained_on = previous.dataset.train_ids if previous else ()
    held = previous.dataset.validation() if previous else ()
    ctx = Context(config, layout, iteration, staging, store, log, console, trained_on, held)
    progress = Progress(staging)
    began_iteration = time.perf_counter()
    for stage in stages_for(iteration):
        if progress.done(stage):
            log.info("iteration %d: %s already done", iteration, stage.value)
            continue
        kill_hook(iteration, stage)
        log.info("iteration %d: %s", iteration, stage.value)
        _announce(console, iteration, stage.value, config.stop.max_iterations)
        began = time.perf_counter()
        record = STAGE_FUNCTIONS[stage](ctx, parts, progress, model, previous)
        progress.mark(stage, record, time.perf_counter() - began)
        kill_hook(iteration, stage, "after")
    body = dataclasses.replace(manifest_body(ctx, progress, previous),
                               wall_s=round(time.perf_counter() - began_iteration, 3))
    elapsed = time.monotonic() - start
    body = dataclasses.replace(body, stop_reason=_reason([*manifests, body], config, elapsed))
    manifest = IterationManifest.read(commit(layout, iteration, body.body()))
    log.info("iteration %d committed (%s)", iteration, manifest.counts.line())
    return manifest


def _announce(console: Any, iteration: int, stage: str, total: int | None = None) -> None:
    if console is None:
        return
    if hasattr(console, "stage"):      # a Display (alearn.campaign.display)
        if getattr(console, "number", None) != iteration:
            console.iteration(iteration, total)
        console.stage(stage)
    else:
        console.print(f"[bold]iteration {iteration}[/bold]: {stage}")


def manifest_body(ctx: Context, progress: Progress, previous: IterationManifest | None) -> IterationManifest:
    """Everything the manifest records besides the file checksums."""
    data = dataset_split(ctx, progress, previous)
    held = validation_ids(progress, previous)
    rows = list(ctx.store.rows(ids=sorted(data.train + data.test + held)))
    explored = progress.record(Stage.EXPLORE)
    window = None if explored is None or explored.lo is None else Window(explored.lo, explored.hi)
    return IterationManifest(
        iteration=ctx.iteration,
        parent=previous.iteration if previous else None,
        parent_manifest_sha256=previous.manifest_sha256 if previous else None,
        config_sha256=config_hash(ctx.config),
        dataset=Dataset(tuple(data.train), tuple(data.test), content_hash(rows), held or None),
        metrics=progress.record(Stage.EVALUATE) or EvaluateRecord(),
        counts=iteration_counts(progress, previous), window=window,
        trust=explored.trust if explored is not None else None,
        timings_s=progress.seconds(),
        seeds={"campaign": ctx.seed,
               "stages": {s.value: ctx.stage_seed(s.value) for s in stages_for(ctx.iteration)}},
        versions=versions(), version=RECORD_VERSION)


def iteration_counts(progress: Progress, previous: IterationManifest | None) -> Counts:
    """Counts of one iteration: frames by the class the explorer gave them, labels (selected
    and validation frames apart), rows."""
    initial, label = progress.record(Stage.INITIAL), progress.record(Stage.LABEL)
    held = progress.record(Stage.VALIDATE)
    explored, chosen = progress.record(Stage.EXPLORE), progress.record(Stage.SELECT)
    augmented, trained = progress.record(Stage.AUGMENT), progress.record(Stage.TRAIN)
    gated = augmented.gated if augmented is not None else None
    labels = [r for r in (initial, label, gated) if r is not None]
    labelled = sum(r.labelled for r in labels)
    failed = sum(r.failed for r in labels)
    unkept = max(0, initial.reference_calculations - initial.labelled) if initial else 0
    before = previous.counts.reference_total if previous else 0
    return Counts(
        walkers=explored.walkers if explored else 0, frames=explored.frames if explored else 0,
        accurate=explored.accurate if explored else 0,
        candidate=explored.candidate if explored else 0,
        failed=explored.failed if explored else 0,
        selected=chosen.selected if chosen else 0, labelled=labelled, label_failed=failed,
        augmented=augmented.augmented if augmented else 0,
        gated=(gated.labelled + gated.failed) if gated else 0,
        train_rows=trained.train_rows if trained else 0,
        test_rows=trained.test_rows if trained else 0,
        close_contacts=chosen.close_contacts if chosen else 0,
        invalid_labels=sum(1 for r in labels for f in r.failures if f.kind == "invalid"),
        validation=held.labelled if held is not None else None,
        validation_failed=held.failed if held is not None else None,
        reference_total=before + labelled + failed + unkept
        + (held.labelled + held.failed if held is not None else 0))


def counts_line(counts: Counts) -> str:
    return counts.line()


def config_hash(config: Any) -> str:
    return sha256_text(canonical_json(to_dict(config)))


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("alearn", "numpy", "ase", "torch", "gpytorch", "tblite"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
