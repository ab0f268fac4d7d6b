"""``alearn import`` and ``alearn export-data``: labelled data into and out of a store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alearn.data.gate import GateLimits

#: the label gate's defaults, shown in the help
GATE = GateLimits()

IMPORT_DESCRIPTION = """\
Import labelled structures (energy, and forces / stress when the file has them) into a store.
Formats are detected by ASE (extended XYZ, ASE databases, VASP OUTCAR and vasprun.xml, FHI-aims
output, ...); XSF files are read as aenet writes them ('# total energy = E eV' comment line,
forces in eV/Å).  Every structure is validated; rejected ones are listed with their reasons.
Importing is idempotent: structures already in the store (same content) are not added again,
so an interrupted import can simply be run again."""

IMPORT_EXAMPLE = """\
examples:
  alearn import data/*.extxyz --into store.db
  alearn import run1/OUTCAR run2/vasprun.xml --into store.db --iteration 0 --subset bulk
  alearn import train.xyz --into store.db --energy-key REF_energy --forces-key REF_forces
"""

EXPORT_DESCRIPTION = """\
Write the structures of a store to an extended XYZ file, with energy, forces and stress and the
provenance (store_id, source, iteration, calculator, params_hash, job_hash, subset, parent,
std, origin) as per-structure info keys.  Filters combine."""

EXPORT_EXAMPLE = """\
examples:
  alearn export-data store.db reference.extxyz --source reference
  alearn export-data cu-emt/store.db it2.extxyz --iteration 2
  alearn export-data water-cluster-xtb/store.db taylor.extxyz --source taylor --subset bulk
"""

SOURCES = ("reference", "taylor", "gpr", "imported")


def run_import(args: argparse.Namespace) -> int:
    from alearn.data.gate import GateLimits
    from alearn.data.readers import LabelOptions
    from alearn.data.store import Store
    from alearn.data.transfer import ImportOptions, import_files, summary_counts
    from alearn.data.views import print_import_summary, rich_progress
    from alearn.errors import UserError

    if args.max_force <= 0 or args.max_energy_deviation <= 0:
        raise UserError("--max-force and --max-energy-deviation must be positive")
    options = ImportOptions(
        format=args.format, iteration=args.iteration, subset=args.subset,
        labels=LabelOptions(energy=args.energy, energy_key=args.energy_key,
                            forces_key=args.forces_key),
        gate=GateLimits(not args.no_label_gate, args.max_force, args.max_energy_deviation))
    with Store.open(args.into, min_distance_A=args.min_distance) as store:
        with rich_progress(enabled=not args.quiet) as progress:
            reports = import_files(store, [Path(p) for p in args.files], options, progress)
        total = store.count()
    print_import_summary(reports, args.into, total)
    if any(r.error for r in reports):
        return 2
    frames, added, existing, _ = summary_counts(reports)
    if frames and not added and not existing:
        print("alearn: error: nothing was imported: every structure was rejected (reasons above)",
              file=sys.stderr)
        return 1
    return 0


def run_export(args: argparse.Namespace) -> int:
    from alearn.data.store import Store
    from alearn.data.transfer import export_extxyz
    from alearn.errors import UserError

    if "://" not in args.store and not Path(args.store).is_file():
        raise UserError(f"store {args.store} does not exist")
    with Store.open(args.store) as store:
        count = export_extxyz(store, Path(args.out), source=args.source,
                              iteration=args.iteration, subset=args.subset)
    print(f"wrote {count} structure(s) to {args.out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``alearn import`` and ``alearn export-data``."""
    formatter = argparse.RawDescriptionHelpFormatter
    imp = subparsers.add_parser("import", help="import labelled structures from files into a store",
                                description=IMPORT_DESCRIPTION, epilog=IMPORT_EXAMPLE,
                                formatter_class=formatter)
    imp.add_argument("files", nargs="+", metavar="FILE", help="files of labelled structures")
    imp.add_argument("--into", required=True, metavar="STORE",
                     help="store: SQLite file (created when missing) or postgresql:// URL")
    imp.add_argument("--iteration", type=int, default=0, help="iteration recorded (default 0)")
    imp.add_argument("--subset", help="subset name recorded with every imported row")
    imp.add_argument("--format", help="ase.io format name, overrides detection "
                                      "(xsf means aenet's XSF)")
    imp.add_argument("--energy", choices=("auto", "energy", "free_energy"), default="auto",
                     help="which energy to take: auto = free energy when the file has one "
                          "(the energy the forces derive from), else energy")
    imp.add_argument("--energy-key", help="info key holding the energy (extended XYZ)")
    imp.add_argument("--forces-key", help="per-atom array holding the forces (extended XYZ)")
    imp.add_argument("--min-distance", type=float, default=0.5, metavar="Å",
                     help="reject structures with two atoms closer than this (default 0.5 Å)")
    imp.add_argument("--max-force", type=float, default=GATE.max_force_eV_A, metavar="eV/Å",
                     help="reject structures with a force beyond this on any atom (default "
                          f"{GATE.max_force_eV_A:g} eV/Å)")
    imp.add_argument("--max-energy-deviation", type=float, metavar="eV/atom",
                     default=GATE.max_energy_deviation_eV_atom,
                     help="reject structures whose energy per atom is further than this from "
                          "the median of the same composition in the files and the store "
                          f"(default {GATE.max_energy_deviation_eV_atom:g} eV/atom)")
    imp.add_argument("--no-label-gate", action="store_true",
                     help="store implausible labels too (only malformed ones are rejected)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(handler=run_import)

    exp = subparsers.add_parser("export-data", help="write a store's structures to extended XYZ",
                                description=EXPORT_DESCRIPTION, epilog=EXPORT_EXAMPLE,
                                formatter_class=formatter)
    exp.add_argument("store", metavar="STORE", help="store: SQLite file or postgresql:// URL")
    exp.add_argument("out", metavar="OUT", help="extended XYZ file to write")
    exp.add_argument("--source", choices=SOURCES, help="only rows of this source")
    exp.add_argument("--iteration", type=int, help="only rows of this iteration")
    exp.add_argument("--subset", help="only rows of this subset")
    exp.set_defaults(handler=run_export)
