"""The spec file of ``alearn augment`` (``AugmentSpec``: [input] [augment] [output])."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.config.schema import option
from alearn.registry import AUGMENTERS, kinds_of


@dataclass(frozen=True)
class InputSection:
    """[input] of an augment spec."""

    structures: tuple[Path, ...] = option(doc="labelled structures (any ASE-readable file with energies and forces)", must_exist=True)
    seed: int = option(0, doc="seed of the displacements and the GPR fit", ge=0)


@dataclass(frozen=True)
class OutputSection:
    """[output] of an augment spec."""

    added: Path = option(Path("augmented.extxyz"), doc="synthetic structures with their energies (extended XYZ)")
    to_label: Path = option(Path("to_label.extxyz"), doc="copies rejected by the GPR gate, for the reference calculator")
    model: Path | None = option(None, doc="directory to save the fitted GPR into (kind = 'gpr')")


@dataclass(frozen=True)
class AugmentSpec:
    """An ``alearn augment`` spec file."""

    input: InputSection = option(doc="where the labelled structures come from")
    augment: Any = option(doc="the augmentation (kind = a registered alearn.augmenters plugin, e.g. 'gpr' or 'taylor')", kinds=kinds_of(AUGMENTERS))
    output: OutputSection = option(factory=OutputSection, doc="where results go")
