"""The explorer role (``alearn.explorers``, ``[explore] kind``): structures sampled on the surrogate.

An explorer runs walkers on the surrogate saved in ``request.model`` and writes what they saw
into ``request.out_dir`` as an :class:`~alearn.explore.run.ExplorationResult` (walker files
of :class:`~alearn.explore.frames.FrameWriter` + ``index.json``), every frame classified once,
by a :class:`~alearn.explore.monitor.Monitor` with the request's measure and trust window:
selection reads those classes and never re-classifies.  MD walkers are ASE dynamics with
observers (``Dynamics.attach``): a biased explorer adds its bias as a calculator mixed into the
surrogate's forces, or as one more observer.  A plugin is a class with a nested ``Params``
dataclass (``kind: Literal["name"]``), built as ``cls(params)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol, runtime_checkable

from ase import Atoms

from alearn.explore.monitor import TrustWindow

if TYPE_CHECKING:
    from alearn.explore.run import ExplorationResult


@dataclass(frozen=True)
class ExploreRequest:
    """One iteration's exploration: where to start, on which model, judged how, run where.

    ``measure`` is the iteration's (fitted) uncertainty measure and ``window`` its trust window;
    ``engine.submit(fn, *args) -> Future`` runs walkers in parallel; ``seed`` is the stage
    seed (walker ``k`` should derive its own from it and ``k`` alone, so results do not depend
    on the number of workers); ``progress(done, total, **facts)`` reports how far the walkers
have got (the ``md`` explorer: MD steps done of walkers × steps, with ``T_K`` and ``sigma``,
the current temperature and largest selection measure, from the walkers' heartbeats);
    ``calculator_options`` are those of the surrogate's ASE calculator
    (``load(model).as_calculator(**options)``, see :func:`alearn.explore.walker.model_calculator`).
    """

    iteration: int
    starts: tuple[Atoms, ...]
    model: Path
    measure: Any
    window: TrustWindow
    engine: Any
    seed: int
    out_dir: Path
    progress: Callable[..., None] | None = None
    calculator_options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Explorer(Protocol):
    """An explorer of the surrogate's potential-energy surface."""

    Params: ClassVar[type]

    def explore(self, request: ExploreRequest) -> "ExplorationResult":
        """Run the walkers of ``request`` and return (and save) what they found."""


__all__ = ["ExploreRequest", "Explorer", "TrustWindow"]
