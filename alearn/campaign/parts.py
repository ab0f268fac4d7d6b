"""The seam between the loop and the packages that do the work.

The loop (``alearn.campaign.loop``) owns order, durability and bookkeeping; a :class:`Parts`
object does the science of each stage.  :func:`alearn.campaign.adapters.default_parts` binds the
real packages (explore, select, label, augment, models/train); tests bind fakes.

Every method returns a JSON-ready ``dict`` summary that is recorded in the iteration's
``progress.json``; keys the loop reads are documented per method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
from ase import Atoms

from alearn.campaign.layout import CampaignDir
from alearn.models.prediction import Prediction


@dataclass(frozen=True)
class Context:
    """What a stage may use: configuration, where things go, the store, the engine, seeds."""

    config: Any                 # alearn.config.campaign.Campaign
    layout: CampaignDir
    iteration: int
    staging: Path
    store: Any                  # alearn.data.store.Store (open)
    log: logging.Logger
    console: Any = None         # rich.console.Console for progress bars (None: quiet)
    previous_train_ids: tuple[int, ...] = ()   # the rows the previous iteration's model saw

    @property
    def seed(self) -> int:
        return int(self.config.campaign.seed)

    def stage_seed(self, stage: str) -> int:
        """A seed for one stage of this iteration, derived from the campaign seed."""
        entropy = [self.seed, self.iteration, sum(ord(c) * 31 ** i for i, c in enumerate(stage)) % (1 << 31)]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def rng(self, stage: str) -> np.random.Generator:
        return np.random.default_rng(self.stage_seed(stage))

    def progress(self, total: int | None, description: str) -> "StageProgress":
        """A progress bar for a long stage (a no-op without a console)."""
        return StageProgress(self.console, total, description)


class StageProgress:
    """Context manager around a rich progress bar; ``advance(n)`` moves it, ``report(done,
    total)`` sets it (for work whose total is known only once it runs)."""

    def __init__(self, console: Any, total: int | None, description: str) -> None:
        self.console, self.total, self.description = console, total, description
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "StageProgress":
        if self.console is not None:
            from rich.progress import Progress

            self._bar = Progress(console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def report(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class Parts(Protocol):
    """The stage implementations the loop calls (see module docstring)."""

    def initial(self, ctx: Context) -> dict[str, Any]:
        """Iteration 0: put the initial data into the store.  Keys: ``row_ids`` (reference or
        imported rows), ``labelled``, ``failed``."""

    def explore(self, ctx: Context, model: Path, workdir: Path) -> dict[str, Any]:
        """MD on the surrogate saved in ``model``; frames go below ``workdir``.  Keys: ``walkers``,
        ``frames``, ``accurate``, ``candidate``, ``failed``."""

    def select(self, ctx: Context, model: Path, explore_dir: Path) -> tuple[list[Atoms], dict[str, Any]]:
        """The structures to label, from the frames below ``explore_dir``.  Key: ``selected``."""

    def label(self, ctx: Context, structures: Sequence[Atoms]) -> dict[str, Any]:
        """Reference-label ``structures`` into the store (idempotent by job hash).  Keys:
        ``row_ids``, ``labelled``, ``failed``."""

    def augment(self, ctx: Context, reference_ids: Sequence[int], workdir: Path) -> tuple[list[Atoms], dict[str, Any]]:
        """Derived rows from the reference rows; returns the structures the augmenter wants
        labelled by the reference instead (GPR gate).  Keys: ``row_ids``, ``augmented``."""

    def train(self, ctx: Context, train_ids: Sequence[int], previous: Path | None,
              out: Path) -> dict[str, Any]:
        """Train (warm start from ``previous``) on the rows ``train_ids`` (the held-out test rows
        are never among them; a validation split is the trainer's own); save into ``out``."""

    def predict(self, model: Path, structures: Sequence[Atoms]) -> Prediction:
        """Predictions of the model saved in ``model``."""
