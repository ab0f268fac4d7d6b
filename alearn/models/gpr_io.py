"""The files of a saved :class:`~alearn.models.gpr.LocalGPR`, without pickles.

``manifest.json`` holds ``kind: "gpr"``, the format version, the fingerprint spec, the config
and, per subset, its name, atom sequence, prior mean and hyperparameters; the arrays (training
fingerprints, Jacobians, labels, Cholesky factor, weights) are in ``tensors.safetensors``.
The Cholesky factor is stored, so a loaded model predicts bit-for-bit what the saved one did.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from alearn.config.gpr import GprConfig
from alearn.config.schema import build, to_dict
from alearn.descriptors.fingerprints import Fingerprint, make_fingerprint
from alearn.errors import UserError
from alearn.files import write_text_atomic
from alearn.models.gpr_fit import FittedSubset, Hyper, SubsetData
from alearn.models.manifest import read_manifest

MANIFEST = "manifest.json"
TENSORS = "tensors.safetensors"
FORMAT_VERSION = 1


def _subset_entry(fitted: FittedSubset, key: tuple[int, ...]) -> dict:
    return {"name": fitted.data.name, "numbers": list(key), "prior_mean_eV": fitted.data.prior_mean_eV,
            "hyper": asdict(fitted.hyper), "neg_log_likelihood": fitted.neg_log_likelihood,
            "starts": fitted.starts, "failed_starts": fitted.failed_starts, "fit_s": fitted.fit_s,
            "use_forces": fitted.data.forces is not None}


def save_gpr(model: Any, directory: Path) -> None:
    """Write the parts of ``model`` (fingerprint, subsets, keys, config) into ``directory``."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for i, fitted in enumerate(model.subsets):
        d = fitted.data
        arrays = {"x": d.x, "jac": d.jac, "energies": d.energies, "cholesky": fitted.cholesky,
                  "alpha": fitted.alpha}
        if d.forces is not None:
            arrays["forces"] = d.forces
        tensors.update({f"{i}.{k}": np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()})
    save_file(tensors, str(directory / TENSORS))
    manifest = {"kind": "gpr", "format_version": FORMAT_VERSION,
                "fingerprint": model.fingerprint.spec(),
                "config": to_dict(model.config) if model.config is not None else None,
                "subsets": [_subset_entry(f, k) for f, k in zip(model.subsets, model.keys)]}
    write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True), durable=False)


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.exists():
        raise UserError(f"{directory}: no {MANIFEST}; not a saved GPR model")
    manifest = read_manifest(directory)
    if manifest.get("kind") != "gpr":
        raise UserError(f"{path}: kind is {manifest.get('kind')!r}, expected 'gpr'")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path}: format_version {manifest.get('format_version')!r} is not "
                        f"supported by this alearn (expected {FORMAT_VERSION})")
    return manifest


def read_gpr(directory: Path) -> tuple[Fingerprint, list[FittedSubset], list[tuple[int, ...]],
                                       GprConfig | None]:
    """(fingerprint, fitted subsets, atom sequence of each, config) written by :func:`save_gpr`."""
    from safetensors.numpy import load_file

    manifest = _read_manifest(directory)
    tensors = load_file(str(directory / TENSORS))
    subsets, keys = [], []
    for i, entry in enumerate(manifest["subsets"]):
        t = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"{i}.")}
        data = SubsetData(entry["name"], t["x"], t["jac"], t["energies"], t.get("forces"),
                          float(entry["prior_mean_eV"]))
        hyper = Hyper(**{**entry["hyper"], "length_scale": tuple(entry["hyper"]["length_scale"])})
        subsets.append(FittedSubset(data, hyper, t["cholesky"], t["alpha"],
                                    float(entry["neg_log_likelihood"]), int(entry["starts"]),
                                    int(entry["failed_starts"]), float(entry["fit_s"])))
        keys.append(tuple(int(z) for z in entry["numbers"]))
    config = build(GprConfig, manifest["config"]) if manifest.get("config") else None
    return make_fingerprint(manifest["fingerprint"]), subsets, keys, config
