"""``alearn report DIR``: the HTML report of a campaign."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    report = subparsers.add_parser("report", help="write an HTML report with plots of a campaign")
    report.add_argument("directory", type=Path, help="campaign directory")
    report.add_argument("--out", type=Path, default=None, help="output file (default: DIR/report.html)")
    report.add_argument("--no-drift", action="store_true",
                        help="skip the short NVE run of the final potential (its energy-drift section)")
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from alearn.report.html import build_report

    print(f"report written to {build_report(args.directory, args.out, drift=not args.no_drift)}")
    return 0
