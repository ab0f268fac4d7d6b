"""Test-set errors of a surrogate: energy, force, stress, force direction, uncertainty calibration.

Fragment rows (subset ``frag:…``) are compared after adding their type's energy offset: the
model's learned one (:func:`model_offsets`), or for types never trained the mean residual of
that type in the evaluated rows (``energy_offset_fallback_rows`` counts them; the single row
of such a type has zero error by construction and is left out of the energy errors,
``energy_rows`` counts the rows compared).
``force_rmse_complete_eV_A`` is the force error over atoms with complete environments only
(``alearn_complete``; all atoms of whole structures among them): the bulk-like force error,
absent when no evaluated row is a fragment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from ase.units import GPa
from scipy.stats import spearmanr

from alearn.data.records import LabelledStructure
from alearn.models.prediction import Prediction
from alearn.train.metrics import committee_mean, complete_force_rmse, with_offsets

#: force vectors shorter than this (reference) are left out of the direction error
DIRECTION_MIN_FORCE_EV_A = 0.1


def model_offsets(model_dir: Path) -> dict[str, float]:
    """Committee-mean learned energy offset per fragment type from a model directory's
    manifest ({} for models without offsets, e.g. GPR or models saved before offsets)."""
    path = Path(model_dir) / "manifest.json"
    if not path.is_file():
        return {}
    return committee_mean(json.loads(path.read_text()).get("energy_offsets", {}))


def errors(rows: Sequence[LabelledStructure], prediction: Prediction, bins: int = 5,
           offsets: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Error metrics of ``prediction`` against the labels of ``rows`` (same order);
    ``offsets``: learned energy offset per fragment type (see module docstring)."""
    if not rows:
        return {"structures": 0}
    natoms = np.array([len(r.atoms) for r in rows], dtype=float)
    e_ref = np.array([r.labels.energy for r in rows])
    energy, keep, counts = with_offsets(rows, prediction.energy, offsets or {})
    de = ((energy - e_ref) / natoms)[keep]
    out: dict[str, Any] = {"structures": len(rows)}
    if len(de):
        out.update({"energy_mae_eV_atom": float(np.mean(np.abs(de))),
                    "energy_rmse_eV_atom": float(np.sqrt(np.mean(de ** 2)))})
    out.update({k: int(v) for k, v in counts.items()})
    out.update(_force_errors(rows, prediction))
    out.update(complete_force_rmse(rows, prediction.forces))
    out.update(_stress_errors(rows, prediction))
    out["calibration"] = calibration(rows, prediction, bins)
    return out


def frame_errors(rows: Sequence[LabelledStructure], prediction: Prediction) -> tuple[Any, ...]:
    """Every row's force RMSE and energy error per atom (:class:`FrameError`, rows' order)."""
    from alearn.campaign.records import FrameError

    out = []
    for k, row in enumerate(rows):
        n = len(row.atoms)
        force = None
        if row.labels.forces is not None:
            diff = np.asarray(prediction.forces[k]) - np.asarray(row.labels.forces)
            force = float(np.sqrt(np.mean(diff ** 2)))
        energy = float((prediction.energy[k] - row.labels.energy) / n)
        out.append(FrameError(int(row.id), n, force, energy))
    return tuple(out)


def _force_errors(rows: Sequence[LabelledStructure], prediction: Prediction) -> dict[str, float]:
    pairs = [(np.asarray(p), r.labels.forces) for r, p in zip(rows, prediction.forces)
             if r.labels.forces is not None]
    if not pairs:
        return {}
    pred = np.concatenate([p for p, _ in pairs])
    ref = np.concatenate([np.asarray(f) for _, f in pairs])
    diff = pred - ref
    out = {"force_mae_eV_A": float(np.mean(np.abs(diff))),
           "force_rmse_eV_A": float(np.sqrt(np.mean(diff ** 2)))}
    norm_ref, norm_pred = np.linalg.norm(ref, axis=1), np.linalg.norm(pred, axis=1)
    keep = (norm_ref > DIRECTION_MIN_FORCE_EV_A) & (norm_pred > 0)
    if keep.any():
        cos = np.sum(pred[keep] * ref[keep], axis=1) / (norm_ref[keep] * norm_pred[keep])
        out["force_angle_mean_deg"] = float(np.degrees(np.mean(np.arccos(np.clip(cos, -1, 1)))))
    return out


def _stress_errors(rows: Sequence[LabelledStructure], prediction: Prediction) -> dict[str, float]:
    if prediction.stress is None:
        return {}
    pairs = [(s, r.labels.stress) for r, s in zip(rows, prediction.stress)
             if r.labels.stress is not None and r.atoms.pbc.all()]
    if not pairs:
        return {}
    diff = np.array([np.asarray(p) - np.asarray(s) for p, s in pairs]) / GPa
    return {"stress_rmse_GPa": float(np.sqrt(np.mean(diff ** 2)))}


MIN_RANK_STRUCTURES = 5  # a rank correlation of fewer structures is noise (3 frames give ±1)


def calibration(rows: Sequence[LabelledStructure], prediction: Prediction, bins: int) -> dict[str, Any]:
    """Does the predicted uncertainty rank and size the true error?

    Per structure: predicted = max atomic force std (or energy std per atom without forces),
    actual = max atomic force error (or |energy error| per atom).  Reports the Spearman rank
    correlation (None below MIN_RANK_STRUCTURES structures) and, per quantile bin of the
    prediction, the mean predicted vs actual value.
    """
    predicted, actual = _uncertainty_pairs(rows, prediction)
    if len(predicted) < 2:
        return {}
    ranked = len(predicted) >= MIN_RANK_STRUCTURES and np.ptp(predicted) > 0 and np.ptp(actual) > 0
    rho = spearmanr(predicted, actual).statistic if ranked else float("nan")
    order = np.argsort(predicted)
    table = [{"predicted": float(np.mean(predicted[idx])), "actual": float(np.mean(actual[idx])),
              "structures": int(len(idx))}
             for idx in np.array_split(order, min(bins, len(order))) if len(idx)]
    return {"measure": "max_force" if prediction.forces_std is not None else "energy_per_atom",
            "spearman": None if np.isnan(rho) else float(rho), "bins": table}


def _uncertainty_pairs(rows: Sequence[LabelledStructure], prediction: Prediction) -> tuple[np.ndarray, np.ndarray]:
    if prediction.forces_std is not None and all(r.labels.forces is not None for r in rows):
        predicted = np.array([float(np.max(s)) for s in prediction.forces_std])
        actual = np.array([float(np.max(np.linalg.norm(np.asarray(p) - r.labels.forces, axis=1)))
                           for r, p in zip(rows, prediction.forces)])
        return predicted, actual
    natoms = np.array([len(r.atoms) for r in rows], dtype=float)
    predicted = np.asarray(prediction.energy_std) / natoms
    actual = np.abs(np.asarray(prediction.energy) - np.array([r.labels.energy for r in rows])) / natoms
    return predicted, actual
