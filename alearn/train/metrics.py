"""Error metrics of predicted vs reference energies, forces and stress (numpy; any surrogate).

Keys (units in the names): ``energy_mae_eV_atom``, ``energy_rmse_eV_atom`` (per-atom energies),
``force_mae_eV_A``, ``force_rmse_eV_A`` (per component), ``force_vector_mae_eV_A`` (mean
|F_pred − F_ref| per atom), ``force_angle_mae_deg`` (mean angle between predicted and reference
force vectors, atoms with |F_ref| > 0.05 eV/Å), ``stress_rmse_GPa`` (per Voigt component),
``pressure_rmse_GPa`` and ``pressure_r`` (Pearson correlation); force/stress keys appear only
when reference values exist.

Fragment rows (provenance subset ``frag:…``) are compared after adding their type's energy
offset to the prediction: the surrogate's learned offset (``energy_offsets``), or for a type
never trained, the mean residual of that type's rows; ``fragment_rows`` and
``energy_offset_fallback_rows`` count them.  A fallback type with a single row has zero energy
error by construction: such rows are left out of the energy errors (``energy_rows`` counts the
rows compared; no energy keys when none remain).  ``force_rmse_complete_eV_A`` is the force RMSE
over atoms with complete environments only (per-atom array ``alearn_complete``; every atom of
a row without it), absent when no row is a fragment.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from ase.units import GPa

from alearn.data.fragments import COMPLETE_ARRAY as COMPLETE
from alearn.data.fragments import energy_offsets, fragment_type

ANGLE_MIN_FORCE_eV_A = 0.05


def committee_mean(offsets: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Fragment type → the committee-mean of its per-member learned offsets (eV)."""
    return {str(k): float(np.mean(v)) for k, v in offsets.items()}


def mean_offsets(surrogate: Any) -> dict[str, float]:
    """Committee-mean learned offset per fragment type ({} for surrogates without offsets)."""
    return committee_mean(getattr(surrogate, "energy_offsets", {}))


def with_offsets(structures: Sequence[Any], predicted: np.ndarray, offsets: Mapping[str, float],
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Predicted energies plus each fragment row's type offset (learned, else the mean
    residual of its type among ``structures``); which rows carry energy information (not the
    single row of a fallback type, whose error is zero by construction); and the counts of
    fragment, fallback and energy-compared rows."""
    keys = [fragment_type(s) for s in structures]
    out = np.array(predicted, dtype=float)
    keep = np.ones(len(out), dtype=bool)
    frag = [k for k, key in enumerate(keys) if key is not None]
    if not frag:
        return out, keep, {}
    fallback = [k for k in frag if keys[k] not in offsets]
    learned = dict(offsets)
    if fallback:
        fallback_keys = [keys[k] for k in fallback]
        learned |= energy_offsets(fallback_keys, [structures[k].labels.energy for k in fallback],
                                  out[fallback])
        keep[[k for k in fallback if fallback_keys.count(keys[k]) == 1]] = False
    for k in frag:
        out[k] += learned[keys[k]]
    return out, keep, {"fragment_rows": float(len(frag)),
                       "energy_offset_fallback_rows": float(len(fallback)),
                       "energy_rows": float(keep.sum())}


def complete_force_rmse(structures: Sequence[Any], forces: Sequence[np.ndarray]) -> dict[str, float]:
    """Force RMSE (per component) over atoms with complete environments; absent when no row
    carries the ``alearn_complete`` array (no fragments: it would repeat the force RMSE)."""
    if not any(COMPLETE in s.atoms.arrays for s in structures):
        return {}
    diffs = []
    for s, f in zip(structures, forces):
        if s.labels.forces is None:
            continue
        diff = np.asarray(f, float).reshape(-1, 3) - np.asarray(s.labels.forces, float).reshape(-1, 3)
        if COMPLETE in s.atoms.arrays:
            diff = diff[np.asarray(s.atoms.arrays[COMPLETE], bool)]
        diffs.append(diff)
    diff = np.concatenate(diffs) if diffs else np.zeros((0, 3))
    return {"force_rmse_complete_eV_A": float(np.sqrt((diff**2).mean()))} if len(diff) else {}


def energy_metrics(pred: np.ndarray, ref: np.ndarray, n_atoms: np.ndarray) -> dict[str, float]:
    diff = (np.asarray(pred, float) - np.asarray(ref, float)) / np.asarray(n_atoms, float)
    return {"energy_mae_eV_atom": float(np.abs(diff).mean()),
            "energy_rmse_eV_atom": float(np.sqrt((diff**2).mean()))}


def force_metrics(pred: Sequence[np.ndarray], ref: Sequence[np.ndarray]) -> dict[str, float]:
    p = np.concatenate([np.asarray(f, float).reshape(-1, 3) for f in pred])
    r = np.concatenate([np.asarray(f, float).reshape(-1, 3) for f in ref])
    diff = p - r
    out = {"force_mae_eV_A": float(np.abs(diff).mean()),
           "force_rmse_eV_A": float(np.sqrt((diff**2).mean())),
           "force_vector_mae_eV_A": float(np.linalg.norm(diff, axis=1).mean())}
    norm_r, norm_p = np.linalg.norm(r, axis=1), np.linalg.norm(p, axis=1)
    ok = (norm_r > ANGLE_MIN_FORCE_eV_A) & (norm_p > 0)
    if ok.any():
        cos = np.clip((p[ok] * r[ok]).sum(1) / (norm_p[ok] * norm_r[ok]), -1.0, 1.0)
        out["force_angle_mae_deg"] = float(np.degrees(np.arccos(cos)).mean())
    return out


def stress_metrics(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Stress in eV/Å³ (Voigt), reported in GPa."""
    p, r = np.asarray(pred, float) / GPa, np.asarray(ref, float) / GPa
    pp, pr = -p[:, :3].mean(1), -r[:, :3].mean(1)
    out = {"stress_rmse_GPa": float(np.sqrt(((p - r) ** 2).mean())),
           "pressure_rmse_GPa": float(np.sqrt(((pp - pr) ** 2).mean()))}
    if len(pp) > 1 and pp.std() > 0 and pr.std() > 0:
        out["pressure_r"] = float(np.corrcoef(pp, pr)[0, 1])
    return out


def error_metrics(structures: Sequence[Any], prediction: Any,
                  offsets: Mapping[str, float] | None = None) -> dict[str, float]:
    """All metrics of a :class:`~alearn.models.prediction.Prediction` against labelled
    structures; ``offsets``: learned energy offset per fragment type (see module docstring)."""
    n_atoms = np.array([len(s.atoms) for s in structures])
    out: dict[str, float] = {"n_structures": float(len(structures))}
    energy, keep, counts = with_offsets(structures, prediction.energy, offsets or {})
    if keep.any():
        out.update(energy_metrics(energy[keep], [s.labels.energy for s, k in zip(structures, keep) if k],
                                  n_atoms[keep]))
    out.update(counts)
    with_f = [k for k, s in enumerate(structures) if s.labels.forces is not None]
    if with_f:
        out.update(force_metrics([prediction.forces[k] for k in with_f],
                                 [structures[k].labels.forces for k in with_f]))
        out.update(complete_force_rmse(structures, prediction.forces))
    with_s = [k for k, s in enumerate(structures) if s.labels.stress is not None]
    if with_s and prediction.stress is not None:
        out.update(stress_metrics(prediction.stress[with_s],
                                  np.array([structures[k].labels.stress for k in with_s])))
    return out


def evaluate_surrogate(surrogate: Any, structures: Sequence[Any], *, batch_size: int = 32) -> dict[str, float]:
    """Predict ``structures`` in batches with any surrogate and return :func:`error_metrics`."""
    from alearn.models.prediction import Prediction

    ranges, start, atoms = [], 0, 0
    for k, s in enumerate(structures):  # at most batch_size structures or ~4000 atoms per call
        if k > start and (k - start >= batch_size or atoms + len(s.atoms) > 4000):
            ranges.append((start, k))
            start, atoms = k, 0
        atoms += len(s.atoms)
    ranges.append((start, len(structures)))
    parts = [surrogate.predict([s.atoms for s in structures[a:b]]) for a, b in ranges if b > a]
    stress = None
    if all(p.stress is not None for p in parts):
        stress = np.concatenate([p.stress for p in parts])
    merged = Prediction(energy=np.concatenate([p.energy for p in parts]),
                        forces=tuple(f for p in parts for f in p.forces),
                        energy_std=np.concatenate([p.energy_std for p in parts]), stress=stress)
    return error_metrics(structures, merged, mean_offsets(surrogate))
