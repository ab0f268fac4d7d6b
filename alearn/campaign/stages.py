"""The stage functions of one iteration: what each stage reads, calls and records.

Each returns the stage's typed record (:mod:`alearn.campaign.records`); the loop stores it in
``progress.json``.  ``previous`` is the manifest of the iteration before (``None`` in
iteration 0).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from alearn.campaign.evaluate import errors, frame_errors, model_offsets
from alearn.campaign.parts import Context, Parts
from alearn.campaign.progress import Progress, Stage, load_structures, save_structures, stage_dir
from alearn.campaign.records import (AugmentRecord, EvaluateRecord, ExploreRecord, IterationManifest,
                                     LabelRecord, Metrics, SelectRecord, TrainRecord, from_json)
from alearn.campaign.testset import Split, split
from alearn.campaign.validation import FRAME_KEY, VALIDATION_FILE
from alearn.data.gate import plausible_rows

#: training rows evaluated for the train-set error (a deterministic subset keeps it cheap)
TRAIN_EVAL_MAX = 200

Previous = IterationManifest | None


def previous_ids(previous: Previous) -> set[int]:
    """Every row the previous snapshot lists (training, test and validation)."""
    if previous is None:
        return set()
    data = previous.dataset
    return set(data.train_ids) | set(data.test_ids) | set(data.validation())


def validation_ids(progress: Progress, previous: Previous) -> tuple[int, ...]:
    """The validation set after this iteration: the previous snapshot's, then this
    iteration's draw (in the order drawn; never trained on)."""
    before = previous.dataset.validation() if previous is not None else ()
    record = progress.record(Stage.VALIDATE)
    new = tuple(i for i in (record.row_ids if record is not None else ()) if i not in before)
    return tuple(before) + new


def new_row_ids(progress: Progress) -> set[int]:
    """Rows this iteration added (from the recorded stage records)."""
    ids: set[int] = set()
    for stage in (Stage.INITIAL, Stage.VALIDATE, Stage.LABEL, Stage.AUGMENT):
        record = progress.record(stage)
        if record is not None:
            ids.update(record.row_ids)
            gated = getattr(record, "gated", None)
            if gated is not None:
                ids.update(gated.row_ids)
    return ids


def dataset_split(ctx: Context, progress: Progress, previous: Previous) -> Split:
    """Training and held-out ids of everything committed so far plus this iteration's rows
    (validation rows are in neither)."""
    held = set(validation_ids(progress, previous))
    ids = sorted((previous_ids(previous) | new_row_ids(progress)) - held)
    rows = plausible_rows(list(ctx.store.rows(ids=ids)) if ids else [], ctx.config.store, ctx.log)
    return split(rows, ctx.seed, ctx.config.evaluate.test_fraction)


def run_initial(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: Previous) -> LabelRecord:
    return parts.initial(ctx)


def run_explore(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: Previous) -> ExploreRecord:
    return parts.explore(ctx, _need(model), stage_dir(ctx.staging, Stage.EXPLORE))


def run_validate(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                 previous: Previous) -> LabelRecord:
    """Draw this iteration's validation frames (once: a resumed stage labels the saved draw)
    and label them by the reference through the same dispatch as the selected frames."""
    n = ctx.config.evaluate.validation_per_iteration
    path = stage_dir(ctx.staging, Stage.VALIDATE) / VALIDATION_FILE
    if n == 0:
        return LabelRecord()
    if not path.is_file():
        save_structures(path, parts.validation(ctx, stage_dir(ctx.staging, Stage.EXPLORE), n))
    structures = load_structures(path)
    for atoms in structures:
        atoms.info.pop(FRAME_KEY, None)
    return parts.label(ctx, structures) if structures else LabelRecord()


def run_select(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
               previous: Previous) -> SelectRecord:
    structures, record = parts.select(ctx, _need(model), stage_dir(ctx.staging, Stage.EXPLORE))
    save_structures(stage_dir(ctx.staging, Stage.SELECT) / "selected.extxyz", structures)
    return dataclasses.replace(record, selected=len(structures))


def run_label(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
              previous: Previous) -> LabelRecord:
    structures = load_structures(stage_dir(ctx.staging, Stage.SELECT) / "selected.extxyz")
    return parts.label(ctx, structures)


def run_augment(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                previous: Previous) -> AugmentRecord:
    source = progress.record(Stage.INITIAL if ctx.iteration == 0 else Stage.LABEL)
    held_out = set(dataset_split(ctx, progress, previous).test)
    reference = [i for i in source.row_ids if i not in held_out]
    workdir = stage_dir(ctx.staging, Stage.AUGMENT)
    gated, record = parts.augment(ctx, reference, workdir)
    if gated:
        save_structures(workdir / "gated.extxyz", gated)
        record = dataclasses.replace(record, gated=parts.label(ctx, load_structures(workdir / "gated.extxyz")))
    return record


def run_train(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
              previous: Previous) -> TrainRecord:
    data = dataset_split(ctx, progress, previous)
    record = parts.train(ctx, data.train, model, ctx.staging / "model")
    return dataclasses.replace(record, train_rows=len(data.train), test_rows=len(data.test))


def run_evaluate(ctx: Context, parts: Parts, progress: Progress, model: Path | None,
                 previous: Previous) -> EvaluateRecord:
    data = dataset_split(ctx, progress, previous)
    bins = ctx.config.evaluate.calibration_bins
    out: dict[str, Any] = {}
    offsets = model_offsets(ctx.staging / "model")
    held = validation_ids(progress, previous)
    if held:
        rows = list(ctx.store.rows(ids=list(held)))
        order = {i: k for k, i in enumerate(held)}
        rows.sort(key=lambda r: order[r.id])
        prediction = parts.predict(ctx.staging / "model", [r.atoms for r in rows])
        out["validation"] = from_json(Metrics, errors(rows, prediction, bins, offsets))
        out["validation_frames"] = frame_errors(rows, prediction)
    for name, ids in (("test", list(data.test)), ("train", _subset(data.train))):
        rows = list(ctx.store.rows(ids=ids)) if ids else []
        if rows:
            prediction = parts.predict(ctx.staging / "model", [r.atoms for r in rows])
            out[name] = from_json(Metrics, errors(rows, prediction, bins, offsets))
    test_file = ctx.config.evaluate.test_file
    if test_file is not None:
        from alearn.train.data import read_files

        rows = read_files([test_file])
        prediction = parts.predict(ctx.staging / "model", [r.atoms for r in rows])
        out["file"] = from_json(Metrics, errors(rows, prediction, bins, offsets))
    return EvaluateRecord(**out)


def _subset(ids: tuple[int, ...]) -> list[int]:
    step = max(1, len(ids) // TRAIN_EVAL_MAX)
    return list(ids[::step])


def _need(model: Path | None) -> Path:
    if model is None:
        raise RuntimeError("exploration needs the model of the previous iteration")
    return model


StageFn = Callable[[Context, Parts, Progress, "Path | None", Previous], Any]

STAGE_FUNCTIONS: dict[Stage, StageFn] = {
    Stage.INITIAL: run_initial, Stage.EXPLORE: run_explore, Stage.VALIDATE: run_validate,
    Stage.SELECT: run_select,
    Stage.LABEL: run_label, Stage.AUGMENT: run_augment, Stage.TRAIN: run_train,
    Stage.EVALUATE: run_evaluate,
}
