"""The stage functions of one iteration: what each stage reads, calls and records."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from alearn.campaign.evaluate import errors, model_offsets
from alearn.campaign.parts import Context, Parts
from alearn.campaign.progress import Progress, Stage, load_structures, save_structures, stage_dir
from alearn.campaign.testset import Split, split

#: training rows evaluated for the train-set error (a deterministic subset keeps it cheap)
TRAIN_EVAL_MAX = 200


def previous_ids(previous: dict[str, Any] | None) -> set[int]:
    if previous is None:
        return set()
    data = previous["dataset"]
    return set(data["train_ids"]) | set(data["test_ids"])


def new_row_ids(progress: Progress) -> set[int]:
    """Rows this iteration added (from the recorded stage summaries)."""
    ids: set[int] = set()
    for stage in (Stage.INITIAL, Stage.LABEL, Stage.AUGMENT):
        if progress.done(stage):
            summary = progress.summary(stage)
            ids.update(summary.get("row_ids", ()))
            ids.update(summary.get("gated", {}).get("row_ids", ()))
    return ids


def dataset_split(ctx: Context, progress: Progress, previous: dict[str, Any] | None) -> Split:
    """Training and held-out ids of everything committed so far plus this iteration's rows."""
    ids = sorted(previous_ids(previous) | new_row_ids(progress))
    rows = list(ctx.store.rows(ids=ids)) if ids else []
    return split(rows, ctx.seed, ctx.config.evaluate.test_fraction)


def run_initial(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: dict[str, Any] | None) -> dict[str, Any]:
    return parts.initial(ctx)


def run_explore(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: dict[str, Any] | None) -> dict[str, Any]:
    return parts.explore(ctx, _need(model), stage_dir(ctx.staging, Stage.EXPLORE))


def run_select(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
               previous: dict[str, Any] | None) -> dict[str, Any]:
    structures, summary = parts.select(ctx, _need(model), stage_dir(ctx.staging, Stage.EXPLORE))
    save_structures(stage_dir(ctx.staging, Stage.SELECT) / "selected.extxyz", structures)
    return {**summary, "selected": len(structures)}


def run_label(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
              previous: dict[str, Any] | None) -> dict[str, Any]:
    structures = load_structures(stage_dir(ctx.staging, Stage.SELECT) / "selected.extxyz")
    return parts.label(ctx, structures)


def run_augment(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: dict[str, Any] | None) -> dict[str, Any]:
    source = Stage.INITIAL if ctx.iteration == 0 else Stage.LABEL
    held_out = set(dataset_split(ctx, progress, previous).test)
    reference = [i for i in progress.summary(source).get("row_ids", ()) if i not in held_out]
    workdir = stage_dir(ctx.staging, Stage.AUGMENT)
    gated, summary = parts.augment(ctx, reference, workdir)
    if gated:
        save_structures(workdir / "gated.extxyz", gated)
        summary = {**summary, "gated": parts.label(ctx, load_structures(workdir / "gated.extxyz"))}
    return summary


def run_train(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
              previous: dict[str, Any] | None) -> dict[str, Any]:
    data = dataset_split(ctx, progress, previous)
    summary = parts.train(ctx, data.train, model, ctx.staging / "model")
    return {**summary, "train_rows": len(data.train), "test_rows": len(data.test)}


def run_evaluate(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                 previous: dict[str, Any] | None) -> dict[str, Any]:
    data = dataset_split(ctx, progress, previous)
    bins = ctx.config.evaluate.calibration_bins
    out: dict[str, Any] = {}
    offsets = model_offsets(ctx.staging / "model")
    for name, ids in (("test", list(data.test)), ("train", _subset(data.train))):
        rows = list(ctx.store.rows(ids=ids)) if ids else []
        if rows:
            prediction = parts.predict(ctx.staging / "model", [r.atoms for r in rows])
            out[name] = errors(rows, prediction, bins, offsets)
    return out


def _subset(ids: tuple[int, ...]) -> list[int]:
    step = max(1, len(ids) // TRAIN_EVAL_MAX)
    return list(ids[::step])


def _need(model: Path | None) -> Path:
    if model is None:
        raise RuntimeError("exploration needs the model of the previous iteration")
    return model


StageFn = Callable[[Context, Parts, Progress, "Path | None", "dict[str, Any] | None"], dict[str, Any]]

STAGE_FUNCTIONS: dict[Stage, StageFn] = {
    Stage.INITIAL: run_initial, Stage.EXPLORE: run_explore, Stage.SELECT: run_select,
    Stage.LABEL: run_label, Stage.AUGMENT: run_augment, Stage.TRAIN: run_train,
    Stage.EVALUATE: run_evaluate,
}
