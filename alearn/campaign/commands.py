"""CLI commands of the loop: ``alearn run``, ``alearn status``, ``alearn export``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RAW = argparse.RawDescriptionHelpFormatter

RUN_DESCRIPTION = """\
Run the campaign described by a TOML file: build the initial data (iteration 0), then per
iteration explore with MD on the current model, select the structures it is unsure about, label
them with the reference code, augment, retrain, evaluate on held-out data and commit the
iteration as an immutable snapshot under DIR/iterations/NNNN, until a [stop] rule holds.

Kill it at any moment (Ctrl-C, kill -9, a lost node); the same command resumes at the first
unfinished stage and never repeats a finished reference calculation.  Changing the TOML mid-campaign is refused
with the diff unless every changed key is safe to change and --allow-changes is given."""

RUN_EXAMPLE = """\
examples:
  alearn run campaigns/water-cluster-xtb.toml                   into ./water-cluster-xtb/
  alearn run campaigns/water-cluster-xtb.toml --dir /scratch/w1
  alearn run campaigns/water-cluster-xtb.toml --dry-run | less  every default, the commands
  alearn run campaigns/water-cluster-xtb.toml --allow-changes   after raising [select] budget
  alearn run water-cluster-xtb                                  resume from the directory"""

STATUS_DESCRIPTION = """\
One row per iteration of a campaign: explored frames and their trust classes (accurate /
candidate / failed), structures selected and labelled, augmented rows, failed reference
calculations, the held-out test errors (energy MAE per atom, force RMSE; stress RMSE only where
stress was labelled) and the seconds per stage; then the iteration in progress (its finished
stages, in the order the loop runs them), whether a run is alive (it holds the campaign's lock)
or the campaign is stale (killed; the same 'alearn run' resumes it), why it stopped, and the
configuration changes accepted with --allow-changes (the old resolved.toml is kept in logs/)."""

STATUS_EXAMPLE = """\
examples:
  alearn status water-cluster-xtb
  alearn status water-cluster-xtb --failures       with each failed calculation's reason
  alearn status water-cluster-xtb --json | python -m json.tool"""

EXPORT_DESCRIPTION = """\
Copy the (checksum-verified) model of one iteration out of a campaign into a stand-alone model
directory with provenance.json (campaign, iteration, snapshot checksum, metrics, versions).
Load it in ASE with alearn.load_calculator(DIR); results then also hold the committee's spread
(energy_std, forces_std, max_force_std).  With --lammps the directory also gets a LAMMPS data
file of the campaign's first structure and NVT/NPT input scripts (docs/lammps.md)."""

EXPORT_EXAMPLE = """\
examples:
  alearn export water-cluster-xtb                        into water-cluster-xtb/export/model-NNNN
  alearn export water-cluster-xtb --iteration 2 --out model-it2
  alearn export cu-emt --lammps --out cu-lammps          then: cd cu-lammps && alearn lammps in.npt --model model"""


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run or resume an active-learning campaign",
        description=RUN_DESCRIPTION, epilog=RUN_EXAMPLE, formatter_class=RAW)
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

    status = subparsers.add_parser("status", help="a table of a campaign's iterations",
                                   description=STATUS_DESCRIPTION, epilog=STATUS_EXAMPLE,
                                   formatter_class=RAW)
    status.add_argument("directory", type=Path, help="campaign directory")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--failures", action="store_true",
                        help="also list every failed reference calculation with its reason")
    status.set_defaults(handler=status_command)

    export = subparsers.add_parser("export", help="copy a trained model out of a campaign",
                                   description=EXPORT_DESCRIPTION, epilog=EXPORT_EXAMPLE,
                                   formatter_class=RAW)
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

    from alearn.campaign.display import make_display

    out = Console()
    display = make_display(out, quiet=args.quiet)
    try:
        outcome = run_campaign(args.campaign, directory=args.dir, allow_changes=args.allow_changes,
                               console=display)
    finally:
        display.close()
    if outcome.ran == 0:
        out.print(f"nothing to do: {outcome.stop_reason}")
        return 0
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

    data = collect(args.directory, with_failures=args.failures)
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
