"""The seam between the loop and the packages that do the work.

The loop (``alearn.campaign.loop``) owns order, durability and bookkeeping; a :class:`Parts`
object does the science of each stage.  :func:`alearn.campaign.adapters.default_parts` binds the
real packages (explore, select, label, augment, models/train); tests bind fakes.

Every stage method returns a typed record (:mod:`alearn.campaign.records`) that is recorded,
as JSON, in the iteration's ``progress.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np
from ase import Atoms

from alearn.campaign.layout import CampaignDir
from alearn.campaign.records import (AugmentRecord, ExploreRecord, LabelRecord, SelectRecord,
                                     TrainRecord)
from alearn.models.prediction import Prediction

if TYPE_CHECKING:
    from alearn.config.campaign import Campaign
    from alearn.data.store import Store


@dataclass(frozen=True)
class Context:
    """What a stage may use: configuration, where things go, the store, the engine, seeds."""

    config: "Campaign"
    layout: CampaignDir
    iteration: int
    staging: Path
    store: "Store"              # open
    log: logging.Logger
    console: Any = None         # rich.console.Console for progress bars (None: quiet)
    previous_train_ids: tuple[int, ...] = ()   # the rows the previous iteration's model saw
    previous_validation_ids: tuple[int, ...] = ()   # the validation set before this iteration

    @property
    def seed(self) -> int:
        return int(self.config.campaign.seed)

    def stage_seed(self, stage: str) -> int:
        """A seed for one stage of this iteration, derived from the campaign seed."""
        entropy = [self.seed, self.iteration, sum(ord(c) * 31 ** i for i, c in enumerate(stage)) % (1 << 31)]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def rng(self, stage: str) -> np.random.Generator:
        return np.random.default_rng(self.stage_seed(stage))

    def progress(self, total: int | None, description: str, unit: str = "") -> "StageProgress":
        """A progress bar for a long stage (a no-op without a console)."""
        return StageProgress(self.console, total, description, unit)


class StageProgress:
    """Context manager around a progress bar; ``advance(n, **facts)`` moves it, ``report(done,
    total, **facts)`` sets it (for work whose total is known only once it runs).  ``console``
    is a :class:`alearn.campaign.display.Display` (its bars stay; plain lines off a terminal)
    or a rich console (a transient bar)."""

    def __init__(self, console: Any, total: int | None, description: str, unit: str = "") -> None:
        self.console, self.total, self.description, self.unit = console, total, description, unit
        self._bar: Any = None
        self._task: Any = None
        self._display = console is not None and hasattr(console, "bar")

    def __enter__(self) -> "StageProgress":
        if self._display:
            if self.total is not None:
                self._bar = self.console.bar(self.description, self.total, self.unit)
        elif self.console is not None:
            from rich.progress import Progress

            self._bar = Progress(console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1, **facts: Any) -> None:
        if self._display and self._bar is not None:
            self._bar.advance(n, **facts)
        elif self._bar is not None:
            self._bar.advance(self._task, n)

    def report(self, done: int, total: int, **facts: Any) -> None:
        if self._display:
            if self._bar is None:
                self._bar = self.console.bar(self.description, total, self.unit)
            self._bar.update(done, **facts)
        elif self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._display:
            if self._bar is not None:
                self._bar.close()
        elif self._bar is not None:
            self._bar.stop()


class Parts(Protocol):
    """The stage implementations the loop calls; each returns its typed record
    (:mod:`alearn.campaign.records`), stored in ``progress.json``."""

    def initial(self, ctx: Context) -> LabelRecord:
        """Iteration 0: put the initial data into the store (reference or imported rows)."""

    def explore(self, ctx: Context, model: Path, workdir: Path) -> ExploreRecord:
        """Explore the surrogate saved in ``model``; frames (classified in the iteration's
        trust window, which the record names) go below ``workdir``."""

    def validation(self, ctx: Context, explore_dir: Path, n: int) -> list[Atoms]:
        """``n`` frames below ``explore_dir`` drawn at random, blind to the uncertainty
        (:mod:`alearn.campaign.validation`), each naming its frame in
        ``info[alearn.campaign.validation.FRAME_KEY]``; selection leaves them out."""

    def select(self, ctx: Context, model: Path, explore_dir: Path) -> tuple[list[Atoms], SelectRecord]:
        """The structures to label, from the frames below ``explore_dir`` (the loop sets
        ``selected``)."""

    def label(self, ctx: Context, structures: Sequence[Atoms]) -> LabelRecord:
        """Reference-label ``structures`` into the store (idempotent by job hash)."""

    def augment(self, ctx: Context, reference_ids: Sequence[int], workdir: Path) -> tuple[list[Atoms], AugmentRecord]:
        """Derived rows from the reference rows; returns the structures the augmenter wants
        labelled by the reference instead (GPR gate; the loop labels them into ``gated``)."""

    def train(self, ctx: Context, train_ids: Sequence[int], previous: Path | None,
              out: Path) -> TrainRecord:
        """Train (warm start from ``previous``) on the rows ``train_ids`` (the held-out test rows
        are never among them; a validation split is the trainer's own); save into ``out``."""

    def predict(self, model: Path, structures: Sequence[Atoms]) -> Prediction:
        """Predictions of the model saved in ``model``."""
