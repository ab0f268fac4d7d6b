"""Durable stage progress inside an iteration's staging directory.

``progress.json`` (written atomically after each stage) records which stages are complete,
their summaries and durations; a run killed at any moment resumes at the first stage not
recorded.  Stage outputs that are structures live beside it in ``stages/``.
"""

from __future__ import annotations

import enum
import os
import signal
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import read, write

from alearn.campaign.records import (AugmentRecord, EvaluateRecord, ExploreRecord, LabelRecord,
                                    SelectRecord, TrainRecord, from_json, to_json)
from alearn.files import read_json, write_bytes_atomic, write_json_atomic

PROGRESS = "progress.json"
#: test hook: "iteration:N:stage:NAME" (SIGKILL before the stage) or "...:after" (after it)
KILL_ENV = "ALEARN_TEST_KILL_AT"


class Stage(str, enum.Enum):
    """The stages of one iteration, in order."""

    INITIAL = "initial"
    EXPLORE = "explore"
    VALIDATE = "validate"
    SELECT = "select"
    LABEL = "label"
    AUGMENT = "augment"
    TRAIN = "train"
    EVALUATE = "evaluate"


#: the record each stage returns
STAGE_RECORDS: dict[Stage, type] = {
    Stage.INITIAL: LabelRecord, Stage.EXPLORE: ExploreRecord,
    Stage.VALIDATE: LabelRecord, Stage.SELECT: SelectRecord,
    Stage.LABEL: LabelRecord, Stage.AUGMENT: AugmentRecord, Stage.TRAIN: TrainRecord,
    Stage.EVALUATE: EvaluateRecord,
}


def stages_for(iteration: int) -> tuple[Stage, ...]:
    """Iteration 0 builds the initial data; later iterations explore first, then draw and label
    their validation frames (before selection, which never sees them)."""
    head = ((Stage.INITIAL,) if iteration == 0
            else (Stage.EXPLORE, Stage.VALIDATE, Stage.SELECT, Stage.LABEL))
    return head + (Stage.AUGMENT, Stage.TRAIN, Stage.EVALUATE)


class Progress:
    """Completed stages of one iteration, persisted in ``staging/progress.json``."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.path = staging / PROGRESS
        self.data: dict[str, Any] = read_json(self.path) if self.path.is_file() else {"stages": {}}

    def done(self, stage: Stage) -> bool:
        return stage.value in self.data["stages"]

    def summary(self, stage: Stage) -> dict[str, Any]:
        """The JSON of a completed stage's record."""
        return self.data["stages"][stage.value]["summary"]

    def record(self, stage: Stage) -> Any:
        """The typed record of a completed stage (:data:`STAGE_RECORDS`), ``None`` when the
        stage has not run (or does not run in this iteration)."""
        if not self.done(stage):
            return None
        return from_json(STAGE_RECORDS[stage], self.summary(stage))

    def seconds(self) -> dict[str, float]:
        return {name: entry["seconds"] for name, entry in self.data["stages"].items()}

    def mark(self, stage: Stage, record: Any, seconds: float) -> None:
        """Record a completed stage (its typed record, stored as JSON)."""
        self.data["stages"][stage.value] = {"summary": to_json(record), "seconds": round(seconds, 3)}
        write_json_atomic(self.path, self.data)


def stage_dir(staging: Path, stage: Stage) -> Path:
    """A directory for a stage's files (emptied when the stage restarts)."""
    path = staging / "stages" / stage.value
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_structures(path: Path, structures: list[Atoms]) -> None:
    """Write structures as extended XYZ, atomically (an empty list gives an empty file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    if structures:
        write(tmp, structures, format="extxyz")
        data = tmp.read_bytes()
        tmp.unlink()
    else:
        data = b""
    write_bytes_atomic(path, data)


def load_structures(path: Path) -> list[Atoms]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    return list(read(path, index=":", format="extxyz"))


def kill_hook(iteration: int, stage: Stage, when: str = "before") -> None:
    """SIGKILL this process where ``ALEARN_TEST_KILL_AT`` says (crash tests only)."""
    target = os.environ.get(KILL_ENV)
    if not target:
        return
    here = f"iteration:{iteration}:stage:{stage.value}"
    if target == here and when == "before" or target == f"{here}:after" and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
