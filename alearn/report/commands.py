"""``alearn report DIR``: the HTML report of a campaign."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


DESCRIPTION = """\
Write one self-contained HTML page about a campaign (figures embedded, no external files, opens
offline): test errors per iteration, the learning curve against cumulative reference calls (on
the fixed validation set and the held-out test set), exploration outcome and the uncertainty of
the explored frames against the trust limits, selected and labelled reference calls, failed
calculations with their reasons, time per stage, the dataset composition by source, g(r) of the
training data (first against second half), energy and force parity, per-element errors,
predicted against true error, and the energy drift of the final potential in a short NVE run.
A section without data says what is missing instead of showing an empty plot."""

EXAMPLE = """\
examples:
  alearn report water-cluster-xtb                       writes water-cluster-xtb/report.html
  alearn report cu-emt --out ~/public_html/cu.html
  alearn report cu-emt --no-drift                       skip the short NVE run of the final potential"""


def register(subparsers: Any) -> None:
    report = subparsers.add_parser("report", help="write an HTML report with plots of a campaign",
                                   description=DESCRIPTION, epilog=EXAMPLE,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("directory", type=Path, help="campaign directory")
    report.add_argument("--out", type=Path, default=None, help="output file (default: DIR/report.html)")
    report.add_argument("--no-drift", action="store_true",
                        help="skip the short NVE run of the final potential (its energy-drift section)")
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from alearn.report.html import build_report

    print(f"report written to {build_report(args.directory, args.out, drift=not args.no_drift)}")
    return 0
