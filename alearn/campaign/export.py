"""``alearn export``: a snapshot's model as a stand-alone directory (``alearn.load_calculator``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from alearn.campaign.layout import CampaignDir
from alearn.campaign.records import IterationManifest, read_manifests, to_json
from alearn.errors import UserError
from alearn.files import honour_umask, write_json_atomic

PROVENANCE = "provenance.json"


def export_model(directory: Path, out: Path | None = None, iteration: int | None = None) -> Path:
    """Copy the (verified) model of ``iteration`` (default: the latest) to ``out``."""
    layout = CampaignDir(Path(directory))
    layout.require()
    manifests = read_manifests(layout)
    if not manifests:
        raise UserError(f"{layout.root} has no committed iteration yet; nothing to export")
    chosen = _choose(manifests, iteration, layout)
    number = chosen.iteration
    out = Path(out) if out is not None else layout.root / "export" / f"model-{number:04d}"
    if out.exists():
        raise UserError(f"{out} exists already; choose another --out or remove it")
    shutil.copytree(layout.snapshot(number) / chosen.model, out)
    write_json_atomic(out / PROVENANCE, _provenance(layout, chosen))
    honour_umask(out)   # the umask's mode, not a temp file's 0600 nor a snapshot's 0444
    return out


def _choose(manifests: list[IterationManifest], iteration: int | None,
            layout: CampaignDir) -> IterationManifest:
    if iteration is None:
        return manifests[-1]
    if not 0 <= iteration < len(manifests):
        raise UserError(f"{layout.root} has iterations 0 to {len(manifests) - 1}; "
                        f"--iteration {iteration} does not exist")
    return manifests[iteration]


def _provenance(layout: CampaignDir, manifest: IterationManifest) -> dict[str, Any]:
    return {"campaign": str(layout.root.resolve()), "iteration": manifest.iteration,
            "snapshot_manifest_sha256": manifest.manifest_sha256,
            "config_sha256": manifest.config_sha256,
            "dataset_content_sha256": manifest.dataset.content_sha256,
            "metrics": to_json(manifest.metrics), "versions": dict(manifest.versions)}
