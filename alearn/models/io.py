"""Save and load a committee: ``manifest.json`` + ``weights.safetensors`` (no pickles).

The manifest carries the format version, ``kind = "committee"``, elements, descriptor,
architecture, metrics, the learned per-fragment-type energy offsets (``energy_offsets``: type
key → one value in eV per member; absent in older models, which load with none) and the sha256
of every file.  Tensors are saved on the CPU in their own
dtype, so a model trained on a GPU loads anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.errors import UserError
from alearn.files import sha256_file, write_text_atomic

FORMAT_VERSION = 1
KIND = "committee"
WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"


def save_committee(committee: Any, directory: Path, *, metrics: dict[str, Any] | None = None) -> Path:
    """Write the model directory; the manifest is written last (atomically)."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in committee.state_dict().items()}
    save_file(state, str(directory / WEIGHTS))
    manifest = {
        "format_version": FORMAT_VERSION, "kind": KIND,
        "elements": list(committee.spec.elements), "descriptor": committee.spec.to_dict(),
        "architecture": {"hidden": list(committee.hidden), "activation": committee.activation,
                         "members": committee.members,
                         "weights_per_member": committee.networks.n_weights_per_member},
        "dtype": str(committee.dtype).replace("torch.", ""),
        "metrics": metrics if metrics is not None else committee.metadata.get("metrics", {}),
        "training": committee.metadata.get("training", {}),
        "energy_offsets": {k: list(v) for k, v in getattr(committee, "energy_offsets", {}).items()},
        "files": {WEIGHTS: sha256_file(directory / WEIGHTS)},
    }
    write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, default=float) + "\n",
                      durable=False)
    return directory


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise UserError(f"{directory} is not a model directory: {MANIFEST} is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); the model directory is damaged") from None


def load_committee(directory: Path, *, device: str = "cpu") -> Any:
    """Load a committee saved by :func:`save_committee` (checks version and checksums)."""
    from safetensors.torch import load_file

    from alearn.models.committee import Committee

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
