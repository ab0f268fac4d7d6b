"""Augmenter ``along_forces``: per reference row, copies moved along its forces by ±δ with the
first-order Taylor energy E − δ·F (energy-only rows, like strategy A/B of the Taylor
augmenter, but along the force direction)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, Sequence

import numpy as np

from alearn.augment.protocol import Augmentation
from alearn.config.schema import option
from alearn.data.records import Labels, LabelledStructure, Provenance, Source


class AlongForces:
    """The ``alearn.augmenters`` plugin ``along_forces``."""

    @dataclass(frozen=True)
    class Params:
        """Copies displaced along the forces, with first-order Taylor energies."""

        kind: Literal["along_forces"] = option("along_forces", doc="augmentation type")
        delta_A: float = option(0.005, doc="largest atomic displacement of a copy", unit="Å", gt=0.0)
        copies: int = option(2, doc="copies per reference row (alternately +δ and −δ, shrinking)", ge=1)

    def __init__(self, params: Any) -> None:
        self.params = params

    def augment(self, rows: Sequence[LabelledStructure], rng: np.random.Generator,
                engine: Any = None) -> Augmentation:
        out = []
        for row in rows:
            forces = np.asarray(row.labels.forces, dtype=float)
            largest = float(np.linalg.norm(forces, axis=1).max(initial=0.0))
            if largest == 0.0:
                continue
            for k in range(self.params.copies):
                step = self.params.delta_A * (-1) ** k / (1 + k // 2) / largest
                moved = row.atoms.copy()
                moved.positions = row.atoms.positions + step * forces
                energy = row.labels.energy - step * float(np.sum(forces * forces))
                provenance = replace(Provenance(Source.TAYLOR, row.provenance.iteration),
                                     parent=row.id)
                out.append(LabelledStructure(moved, Labels(energy=energy), provenance))
        return Augmentation(tuple(out), details={"copies_per_row": self.params.copies})
