"""The selection roles: uncertainty measures and selectors (and the records they exchange).

An **uncertainty measure** (entry-point group ``alearn.measures``, chosen by ``[select]
measure``) turns one structure's surrogate evaluation into a number (and per-atom
contributions where defined); its ``true_error`` is the quantity it is calibrated against.
A measure may need the model itself (gradient features, an active set fitted on the training
set): :meth:`UncertaintyMeasure.fit` receives the surrogate and the training rows (both
lazily: nothing is loaded for measures that do not ask) and returns the measure to use for
this iteration, which travels to the walkers (so it must pickle), and ``evaluate`` receives
the surrogate that computed ``results`` where one is at hand.

A **selector** (``alearn.selectors``, chosen by ``[select] selector``) picks at most
``budget`` of the decorrelated candidate frames of a :class:`CandidatePool`; it may use their
measure values, per-atom contributions, structure fingerprints, or features of its own
computed from the frames and the surrogate (batch-mode selectors on feature matrices).

Both are plugins as everywhere in alearn: a class with a nested ``Params`` dataclass (its
schema, ``kind: Literal["name"]``), constructed as ``cls(params)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
from ase import Atoms

if TYPE_CHECKING:
    from alearn.data.records import Labels, LabelledStructure
    from alearn.models.protocol import Surrogate


@dataclass(frozen=True)
class MeasureValue:
    """A measure of one structure: the value and, where defined, its per-atom contributions."""

    value: float
    per_atom: np.ndarray | None = None   # (n_atoms,), same unit as ``value``


@runtime_checkable
class UncertaintyMeasure(Protocol):
    """An uncertainty measure; ``unit`` names the unit of its values and ``calibrated_against``
    describes its true-error counterpart (``None``: it has none, so ``adaptive =
    "calibrated"`` cannot use it)."""

    Params: ClassVar[type]
    unit: ClassVar[str]
    calibrated_against: ClassVar[str | None]

    def fit(self, surrogate: Callable[[], "Surrogate"],
            training: Callable[[], Sequence["LabelledStructure"]]) -> "UncertaintyMeasure":
        """The measure for the model ``surrogate()`` trained on ``training()``."""

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any],
                 surrogate: "Surrogate | None" = None) -> MeasureValue:
        """The uncertainty of ``atoms`` from the surrogate's ``results`` at it."""

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: "Labels") -> float | None:
        """The surrogate's actual error on ``atoms`` (reference ``labels``) in the measure's
        unit; ``None`` where the measure has no counterpart."""


class Measure:
    """A convenient base of measures: ``params``, ``kind``, no fitting, no true error."""

    unit: ClassVar[str] = ""
    calibrated_against: ClassVar[str | None] = None

    def __init__(self, params: Any) -> None:
        self.params = params

    @property
    def kind(self) -> str:
        return str(self.params.kind)

    def fit(self, surrogate: Callable[[], Any], training: Callable[[], Sequence[Any]]) -> "Measure":
        return self

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


@dataclass(frozen=True)
class CandidatePool:
    """The decorrelated candidate frames a selector chooses from (index ``i`` = one frame).

    ``structure(i)`` builds the frame's Atoms on demand; ``fingerprints()`` are the
    inverse-distance histograms of :mod:`alearn.select.diversity` (cutoff ``[select]
    descriptor_cutoff_A``); ``surrogate()`` loads the exploring model on demand and
    ``training()`` its training rows (batch selectors condition on them); ``seed`` is the
    stage's seed for selectors that draw random numbers.
    """

    values: np.ndarray                               # (n,) measure value per frame
    walkers: np.ndarray                              # (n,) walker index
    steps: np.ndarray                                # (n,) MD step
    frames: Callable[[int], Atoms]
    per_atom: Callable[[int], np.ndarray | None]
    surrogate: Callable[[], "Surrogate"]
    fingerprint_cutoff_A: float = 5.0
    seed: int = 0
    training: Callable[[], Sequence["LabelledStructure"]] = tuple
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.values)

    def structure(self, i: int) -> Atoms:
        return self.frames(i)

    def structures(self) -> list[Atoms]:
        if "structures" not in self._cache:
            self._cache["structures"] = [self.frames(i) for i in range(len(self))]
        return self._cache["structures"]

    def fingerprints(self) -> np.ndarray:
        """(n, features) structure fingerprints of every frame."""
        if "fingerprints" not in self._cache:
            from alearn.select.diversity import element_pairs, fingerprint

            structures = self.structures()
            pairs = element_pairs(structures)
            self._cache["fingerprints"] = np.array(
                [fingerprint(a, pairs, self.fingerprint_cutoff_A) for a in structures])
        return self._cache["fingerprints"]


@runtime_checkable
class Selector(Protocol):
    """A selector: which candidates of the pool go to the reference."""

    Params: ClassVar[type]

    def select(self, pool: CandidatePool, budget: int) -> Sequence[int]:
        """At most ``budget`` distinct indices into ``pool``, in the order to label them
        (called only when the pool holds more than ``budget`` candidates: a pool that fits
        is taken whole, most uncertain first)."""


__all__ = ["CandidatePool", "Measure", "MeasureValue", "Selector", "UncertaintyMeasure"]
