"""The shipped quick campaigns, shortened to seconds, and the dataset content hash of each
iteration they commit: the regression guard of refactors that must not change behaviour.

``python tests/campaign/quick_campaigns.py`` prints the hashes of this checkout (run it on the
commit whose behaviour is the reference, and paste the output into
``test_behaviour_hashes.py``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"

#: run name → (shipped campaign, overrides: section → key → value) that keep every stage but
#: shorten the run; "-rollback" tightens the trust window (a tiny target) so walkers fail, roll
#: back and stop
QUICK: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "h2-gpr": ("h2-gpr", {"stop": {"max_iterations": 2}}),
    "cu-emt": ("cu-emt", {
        "stop": {"max_iterations": 2}, "train": {"epochs": 15},
        "explore": {"stages": [{"temperature_K": 300.0, "steps": 40, "iterations": 1},
                               {"method": "npt", "temperature_K": 600.0, "pressure_GPa": 0.0,
                                "steps": 40, "iterations": 2}]}}),
    "water-cluster-xtb": ("water-cluster-xtb", {
        "stop": {"max_iterations": 1}, "train": {"epochs": 10},
        "explore": {"stages": [{"temperature_K": 300.0, "steps": 60}]}}),
    "water-cluster-xtb-rollback": ("water-cluster-xtb", {
        "stop": {"max_iterations": 1}, "train": {"epochs": 10},
        "explore": {"stages": [{"temperature_K": 500.0, "steps": 65}]},
        "select": {"target_force_error_eV_A": 0.03, "hi_factor": 3.0}}),
}


def _absolute(raw: dict[str, Any], base: Path) -> None:
    """Make the structure and data-set paths of ``raw`` absolute (the copy lives elsewhere)."""
    section = raw.get("campaign", {})
    section["structures"] = [str(base / p) for p in section.get("structures", [])]
    initial = raw.get("initial", {})
    if "dataset" in initial:
        initial["dataset"] = str(base / initial["dataset"])


def quick_toml(name: str, directory: Path) -> Path:
    """The shipped campaign of run ``name`` with its :data:`QUICK` overrides, written into
    ``directory``."""
    import tomli_w

    from alearn.config.campaign import read_toml

    shipped, overrides = QUICK[name]
    raw = read_toml(CAMPAIGNS / f"{shipped}.toml")
    _absolute(raw, CAMPAIGNS)
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    path = directory / f"{name}.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def dataset_hashes(name: str, directory: Path) -> list[str]:
    """Run the quick campaign ``name`` in ``directory``; the dataset content hash per iteration."""
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.loop import run_campaign
    from alearn.campaign.snapshot import verify_all

    run_campaign(quick_toml(name, directory), directory=directory / "run")
    return [m["dataset"]["content_sha256"] for m in verify_all(CampaignDir(directory / "run"))]


def main() -> int:
    out = {}
    for name in QUICK:
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = dataset_hashes(name, Path(tmp))
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
