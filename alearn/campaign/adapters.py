"""The real parts of a campaign: the configured plugins of every role, wired to the loop.

:class:`DefaultParts` is wiring only: it builds each role's plugin from its registry
(:mod:`alearn.registry`: reference calculator, surrogate, uncertainty measure, selector,
augmenter, explorer), owns the engine of ``[dispatch]`` (started on first use, stopped by
``close``) and hands each stage to its module: :mod:`~alearn.campaign.labelling` (iteration 0,
label), :mod:`~alearn.campaign.exploring` (explore, select), :mod:`~alearn.campaign.learning`
(augment, train).  The walkers of an exploration run through the same engine as the reference
calculations.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Sequence

from ase import Atoms

from alearn import registry
from alearn.campaign import exploring, labelling, learning
from alearn.campaign.layout import CampaignDir
from alearn.campaign.learning import canonical_order
from alearn.campaign.parts import Context
from alearn.campaign.records import (AugmentRecord, ExploreRecord, LabelRecord, SelectRecord,
                                     TrainRecord)
from alearn.models.prediction import Prediction

SUBSET_KEY = labelling.SUBSET_KEY

__all__ = ["DefaultParts", "LazyEngine", "SUBSET_KEY", "canonical_order", "default_parts"]


class DefaultParts:
    """The configured plugins of every role on alearn's stages (see module docstring)."""

    def __init__(self, config: Any, layout: CampaignDir, console: Any) -> None:
        self.config, self.layout, self.console = config, layout, console
        self.calculator = registry.make(registry.CALCULATORS, config.reference)
        self.surrogate = registry.make(registry.SURROGATES, config.model)
        self.measure = registry.make(registry.MEASURES, config.select.measure)
        self.selector = registry.make(registry.SELECTORS, config.select.selector)
        self.augmenter = registry.make(registry.AUGMENTERS, config.augment)
        self.explorer = registry.make(registry.EXPLORERS, config.explore)
        self.labeller = labelling.Labeller(self.calculator, config, layout.jobs, self.engine)
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

    def initial(self, ctx: Context) -> LabelRecord:
        return labelling.initial_data(ctx, self.labeller)

    def explore(self, ctx: Context, model: Path, workdir: Path) -> ExploreRecord:
        return exploring.explore(ctx, self.explorer, self.measure, model, workdir, self.engine(),
                                 self.surrogate.calculator_options())

    def validation(self, ctx: Context, explore_dir: Path, n: int) -> list[Atoms]:
        return exploring.validation(ctx, explore_dir, n)

    def select(self, ctx: Context, model: Path, explore_dir: Path) -> tuple[list[Atoms], SelectRecord]:
        return exploring.select(ctx, self.selector, model, explore_dir,
                                self.surrogate.calculator_options())

    def label(self, ctx: Context, structures: Sequence[Atoms]) -> LabelRecord:
        return self.labeller.label(ctx, structures)

    def augment(self, ctx: Context, reference_ids: Sequence[int], workdir: Path) -> tuple[list[Atoms], AugmentRecord]:
        return learning.augment(ctx, self.augmenter, reference_ids, LazyEngine(self.engine))

    def train(self, ctx: Context, train_ids: Sequence[int], previous: Path | None, out: Path) -> TrainRecord:
        return learning.train(ctx, self.surrogate, train_ids, previous, out, LazyEngine(self.engine))

    def predict(self, model: Path, structures: Sequence[Atoms]) -> Prediction:
        from alearn.models import load

        return load(model).predict(list(structures))


class LazyEngine:
    """The engine of ``start()``, started only when a plugin submits work to it."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start = start

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        return self._start().submit(fn, *args, key=key)

    def wait(self, futures: Sequence[Any], timeout_s: float) -> list[Any]:
        return self._start().wait(futures, timeout_s)


def default_parts(config: Any, layout: CampaignDir, console: Any) -> DefaultParts:
    """The parts of a real campaign."""
    return DefaultParts(config, layout, console)
