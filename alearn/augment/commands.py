"""``alearn augment SPEC.toml``: force → energy augmentation of labelled structures, stand-alone."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from alearn.config.schema import option

DESCRIPTION = """\
Make synthetic energy data from labelled structures (energies and forces): GPR augmentation
(kind = "gpr": local GPR surrogates label Gaussian-displaced copies; copies the GPR is unsure
about are written to a separate file for the reference calculator) or Taylor augmentation
(kind = "taylor").  The [augment] table is the same as in a campaign file.

example spec:
  [input]
  structures = ["train.extxyz"]
  seed = 0

  [output]
  added = "augmented.extxyz"
  to_label = "to_label.extxyz"
  model = "gpr-model"            # optional: keep the fitted GPR (kind = "gpr")

  [augment]
  kind = "gpr"
  copies = 16
  delta_A = 0.03
  max_std_eV = 0.05
"""


def augment_kinds() -> Mapping[str, type]:
    from alearn.config.ann import TaylorConfig
    from alearn.config.gpr import GprAugmentConfig

    return {"gpr": GprAugmentConfig, "taylor": TaylorConfig}


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
    augment: Any = option(doc="the augmentation (kind = 'gpr' or 'taylor')", kinds=augment_kinds)
    output: OutputSection = option(factory=OutputSection, doc="where results go")


def run(args: argparse.Namespace) -> int:
    from alearn.augment.runner import run_spec

    return run_spec(Path(args.spec))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "augment", help="augment labelled structures with synthetic energies (GPR or Taylor)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="augment spec (TOML)")
    parser.set_defaults(handler=run)
