"""``alearn augment SPEC.toml``: force → energy augmentation of labelled structures, stand-alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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


def run(args: argparse.Namespace) -> int:
    from alearn.augment.runner import run_spec

    return run_spec(Path(args.spec))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "augment", help="augment labelled structures with synthetic energies (GPR or Taylor)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  alearn augment augment.toml      (the spec above; then "
               "alearn label to_label.extxyz ... for the uncertain copies)")
    parser.add_argument("spec", help="augment spec (TOML)")
    parser.set_defaults(handler=run)
