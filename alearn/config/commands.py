"""``alearn validate FILE``: check a campaign file without running it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELP = "check a campaign file (types, bounds, files, cross-section rules) without running it"

DESCRIPTION = """\
Validate a campaign TOML file: every key is checked against the schema (unknown keys, wrong
types, out-of-range values, unknown plugin kinds), referenced structure files must exist and
parse with ase.io.read, and cross-section rules are applied.  On success a short summary is
printed; on error the message names the file, the key path and what was expected (exit 2).
"""


@dataclass(frozen=True)
class Summary:
    """What a valid campaign file describes, in a few facts."""

    name: str
    sections: tuple[str, ...]
    reference: str
    model: str
    augment: str
    structure_files: int
    structures: int
    elements: tuple[str, ...]
    initial: str
    store: str


def summarize(raw: dict[str, Any], campaign: Any) -> Summary:
    """Facts of a validated campaign (``raw`` is the parsed TOML, ``campaign`` the result)."""
    from ase.io import read

    counts, elements = 0, set()
    for file in campaign.campaign.structures:
        frames = read(file, index=":")
        counts += len(frames)
        for atoms in frames:
            elements.update(atoms.get_chemical_symbols())
    return Summary(
        name=campaign.campaign.name, sections=tuple(raw),
        reference=campaign.reference.kind, model=campaign.model.kind,
        augment=campaign.augment.kind, structure_files=len(campaign.campaign.structures),
        structures=counts, elements=tuple(sorted(elements)), initial=_initial(campaign),
        store=campaign.store.url)


def _initial(campaign: Any) -> str:
    """How iteration 0 gets its data, in a few words."""
    from ase.io import read

    initial = getattr(campaign, "initial", None)
    source = getattr(initial, "source", None)
    if source is None:
        return "not configured"
    if source == "dataset" and initial.dataset is not None:
        count = len(read(initial.dataset, index=":"))
        return f"dataset: {count} labelled structures from {initial.dataset.name}"
    return str(source)


def format_summary(path: Path, summary: Summary) -> str:
    """The lines ``alearn validate`` prints on success."""
    elements = ", ".join(summary.elements) or "none"
    return "\n".join([
        f"{path}: valid campaign '{summary.name}'",
        f"  sections:   {', '.join(summary.sections)} (others at their defaults)",
        f"  reference:  {summary.reference}",
        f"  model:      {summary.model} (augment: {summary.augment})",
        f"  structures: {summary.structures} in {summary.structure_files} file(s); "
        f"elements {elements}",
        f"  initial:    {summary.initial}",
        f"  store:      {summary.store}",
    ])


def run_validate(args: argparse.Namespace) -> int:
    from alearn.config.campaign import parse_campaign, read_toml

    path = Path(args.file)
    raw = read_toml(path)
    campaign = parse_campaign(raw, path)
    print(format_summary(path, summarize(raw, campaign)))
    return 0


def register(subparsers: Any) -> None:
    """Add ``alearn validate``."""
    parser = subparsers.add_parser(
        "validate", help=HELP, description=DESCRIPTION,
        epilog="example:\n  alearn validate campaigns/water-cluster-xtb.toml\n"
               "  alearn run campaigns/water-cluster-xtb.toml --dry-run   "
               "(also prints every default and the reference commands)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="campaign TOML file")
    parser.set_defaults(handler=run_validate)
