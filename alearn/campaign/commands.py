"""CLI commands of the loop: ``alearn run``, ``alearn status``, ``alearn export``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run or resume an active-learning campaign",
        description="Run the campaign described by a TOML file (or resume the campaign directory "
                    "it created). Kill it at any time; the same command resumes.")
    run.add_argument("campaign", type=Path, help="campaign TOML file, or an existing campaign directory")
    run.add_argument("--dir", type=Path, default=None,
                     help="campaign directory (default: ./<campaign.name>)")
    run.add_argument("--allow-changes", action="store_true",
                     help="accept changes of keys that are safe to change mid-campaign")
    run.add_argument("--dry-run", action="store_true",
                     help="validate, print the configuration with every default, the exact command of each "
                          "reference calculation and the pilot job script; run nothing")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.set_defaults(handler=run_command)

    status = subparsers.add_parser("status", help="a table of a campaign's iterations")
    status.add_argument("directory", type=Path, help="campaign directory")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=status_command)

    export = subparsers.add_parser("export", help="copy a trained model out of a campaign")
    export.add_argument("directory", type=Path, help="campaign directory")
    export.add_argument("--iteration", type=int, default=None, help="iteration (default: the latest)")
    export.add_argument("--out", type=Path, default=None,
                        help="target directory (default: DIR/export/model-NNNN, "
                             "or DIR/export/lammps-NNNN with --lammps)")
    export.add_argument("--lammps", action="store_true",
                        help="also write start.data and LAMMPS input scripts (in.nvt, in.npt) "
                             "beside the model in OUT/model (docs/lammps.md)")
    export.set_defaults(handler=export_command)


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.dry_run:
        return _dry_run(args.campaign)
    from alearn.campaign.loop import run_campaign
    from alearn.campaign.status import collect, render

    console = None if args.quiet else Console()
    outcome = run_campaign(args.campaign, directory=args.dir, allow_changes=args.allow_changes,
                           console=console)
    out = Console()
    render(collect(outcome.directory), out)
    out.print(f"[bold]stop reason:[/bold] {outcome.stop_reason}")
    out.print(f"model: alearn export {outcome.directory}")
    return 0


def _dry_run(source: Path) -> int:
    from alearn.campaign.setup import resolved_toml
    from alearn.config.campaign import load_campaign
    from alearn.label.dryrun import dry_run_text

    campaign = load_campaign(source)
    print(resolved_toml(campaign), end="")
    print("\n" + dry_run_text(campaign.reference, campaign.dispatch), end="")
    return 0


def status_command(args: argparse.Namespace) -> int:
    from alearn.campaign.status import collect, render

    data = collect(args.directory)
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        from rich.console import Console

        render(data, Console())
    return 0


def export_command(args: argparse.Namespace) -> int:
    if args.lammps:
        from alearn.lammps.export import export_lammps

        out = export_lammps(args.directory, args.out, args.iteration)
        scripts = [name for name in ("in.nvt", "in.npt") if (out / name).is_file()]
        print(f"exported to {out} (model/, start.data, {', '.join(scripts)}, README.md); run it "
              f"with:\n  cd {out} && alearn lammps in.nvt --model model")
        return 0
    from alearn.campaign.export import export_model

    out = export_model(args.directory, args.out, args.iteration)
    print(f"exported to {out}; load it with alearn.load_calculator({str(out)!r})")
    return 0
