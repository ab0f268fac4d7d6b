"""The first-party explorer ``md`` (``alearn.explorers``): MD walkers (and random displacement /
strain samplers) on the surrogate, with monitors, along the ``[[explore.stages]]`` schedule."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

from alearn.config.explore import ExploreConfig
from alearn.explore.protocol import ExploreRequest
from alearn.explore.run import ExplorationResult, plan_walkers, run_walkers
from alearn.explore.walker import CalculatorSpec, model_calculator


class MdExplorer:
    """Walkers of :mod:`alearn.explore.walker` run through the request's engine."""

    Params: ClassVar[type] = ExploreConfig

    def __init__(self, params: ExploreConfig) -> None:
        self.params = params

    def explore(self, request: ExploreRequest) -> ExplorationResult:
        plan = plan_walkers(self.params, request.iteration, request.measure, request.window)
        return run_walkers(list(request.starts), plan, self.calculator(request), request.engine,
                           request.seed, request.out_dir, progress=request.progress,
                           temperature_K=float(getattr(plan.stage, "temperature_K", 0.0) or 0.0))

    def calculator(self, request: ExploreRequest) -> CalculatorSpec:
        """What the walkers evaluate: the surrogate in the request's model directory, with the
        surrogate plugin's calculator options (``[model] dtype``, ``skin_A``)."""
        model = str(Path(request.model).resolve())
        return (functools.partial(model_calculator, model, **request.calculator_options)
                if request.calculator_options else model)
