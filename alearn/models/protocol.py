"""The surrogate role: plugins that train and load models, and the trained models themselves.

A **surrogate plugin** (entry-point group ``alearn.surrogates``) is a class with a nested
``Params`` dataclass (the ``[model]`` schema, ``kind: Literal["name"]``), constructed as
``cls(params)``; :meth:`SurrogatePlugin.train` fits a model on a :class:`TrainRequest` and
:meth:`SurrogatePlugin.load` reads one back from its directory (whose ``manifest.json`` names
the ``kind``, so :func:`alearn.models.load` finds the plugin).

A trained **surrogate** predicts batches (:class:`~alearn.models.prediction.Prediction`),
saves itself without pickles, and hands out a :class:`PointEvaluator`: the narrow, stateful
one-structure evaluation that :class:`alearn.models.calculator.SurrogateCalculator` (the one
ASE calculator of every surrogate) calls at each MD step.  An evaluator may keep what
consecutive steps share (neighbour lists, the subset a structure is routed to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
from ase import Atoms

from alearn.models.prediction import Prediction

if TYPE_CHECKING:
    from alearn.config.ann import DescriptorConfig, TrainConfig
    from alearn.data.records import LabelledStructure

#: ``progress(done, total, **facts)`` of a long training (epochs, subsets ...); facts such as
#: ``loss=`` and ``valid=`` are shown beside the bar
TrainProgress = Callable[..., None]


@dataclass(frozen=True)
class PointResult:
    """One structure's evaluation (eV, eV/Å, eV/Å³ in ASE's Voigt order)."""

    energy: float
    forces: np.ndarray                      # (n_atoms, 3)
    energy_std: float
    forces_std: np.ndarray | None = None    # (n_atoms,)
    stress: np.ndarray | None = None        # (6,)
    stress_std: np.ndarray | None = None    # (6,)
    extra: Mapping[str, Any] = field(default_factory=dict)   # further ``results`` keys


@runtime_checkable
class PointEvaluator(Protocol):
    """What the ASE adapter calls for one structure; ``properties`` are the ASE properties it
    can compute (``stress`` only where the surrogate has it)."""

    properties: tuple[str, ...]

    def __call__(self, atoms: Atoms, *, stress: bool) -> PointResult:
        """Energy, forces, spreads (and stress when asked and available) of ``atoms``."""


@runtime_checkable
class Surrogate(Protocol):
    """A trained model of the potential-energy surface with an uncertainty."""

    def predict(self, structures: Sequence[Atoms]) -> Prediction:
        """Energies, forces (stress where defined) and their spreads of a batch."""

    def save(self, directory: Path) -> None:
        """Write the model (no pickles: safetensors / JSON); ``manifest.json`` names its kind."""

    def evaluator(self, **options: Any) -> PointEvaluator:
        """A fresh one-structure evaluator (options: the surrogate's calculator options)."""


@dataclass(frozen=True)
class TrainRequest:
    """Everything a surrogate plugin may train on.

    ``rows`` are the training rows in content order (never the held-out test rows; a
    validation split is the plugin's own business); ``warm_start`` is the directory of the
    previous model when the loop continues from it (a plugin may ignore it, and must retrain
    from scratch, saying why in :attr:`TrainSummary.fresh_reason`, when its configuration no
    longer fits that model).  ``descriptor`` and ``train`` are the campaign's shared
    ``[descriptor]`` and ``[train]`` sections, for the plugins that use them.
    """

    rows: tuple["LabelledStructure", ...]
    seed: int
    descriptor: "DescriptorConfig"
    train: "TrainConfig"
    warm_start: Path | None = None
    engine: Any = None                      # submit(fn, *args) -> Future, for parallel fits
    progress: TrainProgress | None = None


@dataclass(frozen=True)
class TrainSummary:
    """What a training did; ``details`` are plugin-specific JSON-ready facts (epochs, subsets ...)."""

    n_train: int
    warm_start: bool = False
    fresh_reason: str | None = None         # why a requested warm start was not used
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Trained:
    """A trained surrogate and its summary."""

    model: Surrogate
    summary: TrainSummary


@runtime_checkable
class SurrogatePlugin(Protocol):
    """An ``alearn.surrogates`` plugin: ``Params`` is its ``[model]`` schema."""

    Params: ClassVar[type]

    def train(self, request: TrainRequest) -> Trained:
        """Fit a model on ``request.rows`` (warm-started where that is possible)."""

    def calculator_options(self) -> dict[str, Any]:
        """The options of ``model.evaluator(**options)`` that ``Params`` asks for (the
        committee: ``dtype``, ``skin_A``); the walkers' calculators are built with them."""

    @classmethod
    def load(cls, directory: Path) -> Surrogate:
        """The model saved in ``directory``."""


__all__ = ["PointEvaluator", "PointResult", "Surrogate", "SurrogatePlugin", "TrainProgress",
           "TrainRequest", "TrainSummary", "Trained"]
