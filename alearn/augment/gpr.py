"""GPR augmentation (GPR-ANN, Yeu et al. 2025) with an uncertainty gate.

Every reference structure with forces gets ``copies`` Gaussian-displaced copies (std
``delta_A`` per Cartesian component; net translation removed; rigid rotation optionally
removed).  A local GPR fitted on the reference energies and forces labels each copy with its
posterior mean, predicted by the subset its parent was fitted in.  The gate: a copy whose
posterior energy std exceeds the threshold (``max_std_eV``, or ``max_std_relative`` × the
subset's fitted energy noise) is not added; it is returned as a candidate for the reference
calculator.  Added rows carry ``Provenance(source=gpr, parent=<row id>, std=<eV>,
subset=<name>)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from alearn.config.gpr import GprAugmentConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.errors import UserError
from alearn.models.gpr import LocalGPR, SubsetReport


@dataclass(frozen=True)
class GprCandidate:
    """A copy the GPR was unsure about: label it with the reference calculator."""

    atoms: Atoms
    parent: int | None
    std_eV: float
    subset: str


@dataclass(frozen=True)
class GprAugmentReport:
    """Counts, timings (s) and the fitted subsets' hyperparameters."""

    subsets: tuple[SubsetReport, ...]
    thresholds_eV: dict[str, float]
    copies: int
    added: int
    to_label: int
    fit_s: float
    label_s: float


@dataclass(frozen=True)
class GprAugmentResult:
    """Synthetic rows to add, copies to send to the reference, and the report."""

    added: tuple[LabelledStructure, ...]
    to_label: tuple[GprCandidate, ...]
    report: GprAugmentReport
    model: LocalGPR | None = None          # the fitted surrogate (save it, or drive MD with it)


def remove_rigid_rotation(positions: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """``displacement`` minus its least-squares infinitesimal rotation ω × r about the centroid."""
    r = positions - positions.mean(axis=0)
    inertia = np.eye(3) * np.sum(r * r) - r.T @ r
    omega = np.linalg.pinv(inertia) @ np.cross(r, displacement).sum(axis=0)
    return displacement - np.cross(omega, r)


def displacements(positions: np.ndarray, delta_A: float, copies: int, rng: np.random.Generator,
                  remove_rotation: bool) -> np.ndarray:
    """(copies, n, 3) Gaussian displacements with zero mean (and no rigid rotation if asked)."""
    moves = rng.normal(0.0, delta_A, size=(copies,) + positions.shape)
    moves -= moves.mean(axis=1, keepdims=True)
    if remove_rotation:
        moves = np.stack([remove_rigid_rotation(positions, m) for m in moves])
    return moves


def _copies(structures: Sequence[LabelledStructure], cfg: GprAugmentConfig,
            rng: np.random.Generator) -> tuple[list[Atoms], list[int]]:
    """Displaced copies and, for each, the index of its parent in ``structures``."""
    atoms_out, parents = [], []
    for index, structure in enumerate(structures):
        base = structure.atoms
        for move in displacements(base.positions, cfg.delta_A, cfg.copies, rng, cfg.remove_rotation):
            moved = base.copy()
            moved.calc = None
            moved.positions = base.positions + move
            atoms_out.append(moved)
            parents.append(index)
    return atoms_out, parents


def _thresholds(model: LocalGPR, cfg: GprAugmentConfig) -> dict[str, float]:
    if cfg.gate == "absolute":
        return {name: cfg.max_std_eV for name in model.names}
    return {s.data.name: cfg.max_std_relative * s.hyper.energy_noise_eV for s in model.subsets}


def gpr_augment(structures: Sequence[LabelledStructure], cfg: GprAugmentConfig,
                rng: np.random.Generator, engine: Any = None,
                model: LocalGPR | None = None) -> GprAugmentResult:
    """Fit (unless ``model`` is given) local GPRs, displace, label, gate.

    ``model`` must then have been fitted on ``structures`` (its ``training_subsets`` name the
    subset of each); otherwise copies go to the subset with the nearest centroid.
    """
    with_forces = [s for s in structures if s.labels.forces is not None]
    if not with_forces:
        raise UserError("GPR augmentation needs reference structures with forces; none have them")
    start = time.perf_counter()
    if model is None:
        model = LocalGPR.fit(with_forces, cfg.model, seed=int(rng.integers(2**31 - 1)), engine=engine)
        parent_subsets = model.training_subsets
    else:
        parent_subsets = model.subset_of([s.atoms for s in with_forces])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    copies, parents = _copies(with_forces, cfg, rng)
    names = [parent_subsets[p] for p in parents]
    pred = model.predict(copies, subsets=names)
    label_s = time.perf_counter() - start
    thresholds = _thresholds(model, cfg)
    added, to_label = [], []
    for atoms, p, name, energy, std in zip(copies, parents, names, pred.energy, pred.energy_std):
        parent = with_forces[p]
        if std > thresholds[name]:
            to_label.append(GprCandidate(atoms, parent.id, float(std), name))
            continue
        provenance = Provenance(source=Source.GPR, iteration=parent.provenance.iteration,
                                subset=name, parent=parent.id, std=float(std))
        added.append(LabelledStructure(atoms, Labels(energy=float(energy)), provenance))
    report = GprAugmentReport(tuple(model.reports()), thresholds, len(copies), len(added),
                              len(to_label), fit_s, label_s)
    return GprAugmentResult(tuple(added), tuple(to_label), report, model)


def report_text(report: GprAugmentReport) -> str:
    """One line per subset with the chosen hyperparameters, then the totals."""
    head = ("subset", "structures", "rows", "ℓ", "w (eV)", "σ_E (eV)", "σ_F (eV/Å)", "gate (eV)",
            "fit (s)")
    rows = [head]
    for r in report.subsets:
        h = r.hyper
        ell = f"{h.length_scale[0]:.3g}" if len(h.length_scale) == 1 else f"ARD×{len(h.length_scale)}"
        rows.append((r.name, str(r.structures), str(r.rows), ell, f"{h.weight_eV:.3g}",
                     f"{h.energy_noise_eV:.2g}", f"{h.force_noise_eV_A:.2g}",
                     f"{report.thresholds_eV[r.name]:.3g}", f"{r.fit_s:.1f}"))
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = ["local GPR subsets"] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.append(f"copies {report.copies}, added {report.added}, to label {report.to_label}; "
                 f"fit {report.fit_s:.1f} s, labelling {report.label_s:.2f} s")
    return "\n".join(lines)
