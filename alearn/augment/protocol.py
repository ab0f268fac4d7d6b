"""The augmenter role (``alearn.augmenters``, ``[augment] kind``): force → energy augmentation.

An augmenter turns labelled reference rows (energies and forces) into derived energy rows, and
may hand back structures it would rather see labelled by the reference (the GPR gate); the loop
stores the rows (with this iteration) and labels those structures in the same stage.  A plugin
is a class with a nested ``Params`` dataclass (``kind: Literal["name"]``), built as
``cls(params)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
from ase import Atoms

if TYPE_CHECKING:
    from alearn.data.records import LabelledStructure


@dataclass(frozen=True)
class Augmentation:
    """Derived rows, structures for the reference instead, JSON-ready facts (counts, timings),
    a surrogate fitted on the way (``alearn augment`` can save it) and a report for people."""

    added: tuple["LabelledStructure", ...] = ()
    to_label: tuple[Atoms, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None
    text: str = ""


@runtime_checkable
class Augmenter(Protocol):
    """An augmenter of labelled rows."""

    Params: ClassVar[type]

    def augment(self, rows: Sequence["LabelledStructure"], rng: np.random.Generator,
                engine: Any = None) -> Augmentation:
        """Derived rows from ``rows`` (reference rows with forces, in content order);
        ``engine.submit(fn, *args)`` may run parts in parallel."""


__all__ = ["Augmentation", "Augmenter"]
