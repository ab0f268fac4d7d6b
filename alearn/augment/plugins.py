"""The first-party augmenters (``alearn.augmenters``): ``none``, ``taylor`` (Cooper et al. 2020)
and ``gpr`` (GPR-ANN, Yeu et al. 2025, with its uncertainty gate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Sequence

import numpy as np

from alearn.augment.protocol import Augmentation
from alearn.config.ann import TaylorConfig
from alearn.config.gpr import GprAugmentConfig
from alearn.config.schema import option


class NoAugmenter:
    """No force → energy augmentation."""

    @dataclass(frozen=True)
    class Params:
        """No force → energy augmentation."""

        kind: Literal["none"] = option("none", doc="augmentation type")

    def __init__(self, params: Any) -> None:
        self.params = params

    def augment(self, rows: Sequence[Any], rng: np.random.Generator, engine: Any = None) -> Augmentation:
        return Augmentation()


class TaylorAugmenter:
    """First-order Taylor energies of displaced copies (:mod:`alearn.augment.taylor`)."""

    Params: ClassVar[type] = TaylorConfig

    def __init__(self, params: TaylorConfig) -> None:
        self.params = params

    def augment(self, rows: Sequence[Any], rng: np.random.Generator, engine: Any = None) -> Augmentation:
        from alearn.augment.taylor import taylor_augment

        return Augmentation(tuple(taylor_augment(rows, self.params, rng)))


class GprAugmenter:
    """GP-mean energies of Gaussian-displaced copies; copies above the gate go to the reference
    (:mod:`alearn.augment.gpr`)."""

    Params: ClassVar[type] = GprAugmentConfig

    def __init__(self, params: GprAugmentConfig) -> None:
        self.params = params

    def augment(self, rows: Sequence[Any], rng: np.random.Generator, engine: Any = None) -> Augmentation:
        from alearn.augment.gpr import gpr_augment

        from alearn.augment.gpr import report_text

        result = gpr_augment(rows, self.params, rng, engine=engine)
        report = result.report
        return Augmentation(result.added, tuple(_candidate(c) for c in result.to_label),
                            {"copies": report.copies, "gated_copies": report.to_label,
                             "fit_s": round(report.fit_s, 3)}, result.model, report_text(report))


def _candidate(candidate: Any) -> Any:
    """A gated copy with its parent row, GP std and subset in ``info``."""
    atoms = candidate.atoms.copy()
    atoms.calc = None
    atoms.info.update({"parent": candidate.parent, "std_eV": candidate.std_eV,
                       "subset": candidate.subset})
    return atoms


__all__ = ["GprAugmenter", "NoAugmenter", "TaylorAugmenter"]
