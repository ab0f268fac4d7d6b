"""Command line: argv → the command modules.  No logic lives here.

Each command module exposes ``register(subparsers)``, which adds its sub-parser and sets
``handler`` (a function ``(args) -> int``) as a default.  Heavy imports happen inside handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from alearn import __version__
from alearn.errors import UserError

#: command modules, in the order ``alearn --help`` lists them (the loop's order of work)
COMMAND_MODULES: tuple[str, ...] = (
    "alearn.config.commands",
    "alearn.data.commands",
    "alearn.label.command",
    "alearn.augment.commands",
    "alearn.train.commands",
    "alearn.explore.commands",
    "alearn.campaign.commands",
    "alearn.report.commands",
    "alearn.lammps.commands",
)

DESCRIPTION = """\
alearn grows a machine-learning interatomic potential and its training set together:
explore with MD on a surrogate (committee of neural networks or local GPR), select the
structures it is unsure about, label them with a reference code (xTB, PySCF, Quantum ESPRESSO,
FHI-aims, VASP, any ASE calculator), augment forces into energies, retrain, and keep every
iteration as an immutable snapshot.  Kill it at any time; the same command resumes.
"""

EPILOG = """\
typical session:
  alearn validate campaigns/water-cluster-xtb.toml     check a campaign file without running it
  alearn run campaigns/water-cluster-xtb.toml          run (or resume) it into ./water-cluster-xtb/
  alearn status water-cluster-xtb                      one row per iteration: counts, errors, times
  alearn report water-cluster-xtb                      report.html with plots
  alearn export water-cluster-xtb --out model          a stand-alone model; alearn.load_calculator("model")
  alearn import data/*.xyz --into store.db             bring existing labelled data into a store

Run 'alearn COMMAND --help' for the options of one command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="alearn", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"alearn {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``alearn`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        status = int(handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except UserError as exc:
        print(f"alearn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alearn: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as exc:
        from alearn.data.faults import is_storage_fault, storage_problem

        if not is_storage_fault(exc):
            raise
        print(f"alearn: error: {storage_problem(exc)}", file=sys.stderr)
        return 2


#: exit status of a command whose output pipe was closed (128 + SIGPIPE, as the shell reports)
BROKEN_PIPE_STATUS = 141


def _reader_went_away() -> int:
    """The reader of our output quit early (``alearn validate F | head -1``): stop quietly.
    Standard output is pointed at /dev/null so the interpreter's final flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return BROKEN_PIPE_STATUS
