"""Reading saved models: ``manifest.json`` of any model directory, and a committee
(``manifest.json`` + ``weights.safetensors``, no pickles) written by :meth:`Committee.save`.

The committee manifest carries the format version, ``kind = "committee"``, elements,
descriptor, architecture, metrics, the learned per-fragment-type energy offsets
(``energy_offsets``: type key → one value in eV per member; absent in older models, which load
with none) and the sha256 of every file.  Tensors are saved on the CPU in their own dtype, so
a model trained on a GPU loads anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.errors import UserError
from alearn.files import sha256_file
from alearn.models.manifest import read_manifest
from alearn.models.committee import FORMAT_VERSION, KIND, MANIFEST, WEIGHTS, Committee

__all__ = ["FORMAT_VERSION", "KIND", "MANIFEST", "WEIGHTS", "load_committee", "read_manifest",
           "save_committee"]


def save_committee(committee: Committee, directory: Path, *,
                   metrics: dict[str, Any] | None = None) -> Path:
    """Write the model directory (:meth:`Committee.save`)."""
    return committee.save(Path(directory), metrics=metrics)


def load_committee(directory: Path, *, device: str = "cpu") -> Committee:
    """Load a committee saved by :meth:`Committee.save` (checks version and checksums)."""
    from safetensors.torch import load_file

    manifest = read_manifest(directory)
    if manifest.get("kind") != KIND or manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{directory}: expected a committee model of format {FORMAT_VERSION}, found "
                        f"kind {manifest.get('kind')!r} format {manifest.get('format_version')!r}")
    for name, digest in manifest["files"].items():
        if sha256_file(Path(directory) / name) != digest:
            raise UserError(f"{directory}/{name} does not match the sha256 in {MANIFEST}; "
                            "the file was modified or truncated")
    arch = manifest["architecture"]
    dtype = getattr(torch, manifest.get("dtype", "float64"))
    committee = Committee(ChebyshevSpec.from_dict(manifest["descriptor"]), arch["hidden"],
                          arch["activation"], arch["members"], dtype=dtype)
    committee.load_state_dict(load_file(str(Path(directory) / WEIGHTS), device="cpu"))
    committee.metadata = {"metrics": manifest.get("metrics", {}),
                          "training": manifest.get("training", {})}
    committee.energy_offsets = {str(k): tuple(float(x) for x in v)
                                for k, v in manifest.get("energy_offsets", {}).items()}
    return committee.to(device)
