"""Surrogate ``pairs``: a committee of pair potentials, each linear in Gaussian radial functions.

E = N·e0 + Σ_{i<j} Σ_m c_m g_m(r_ij),  g_m(r) = exp(−(r − r_m)²/2w²) · f_c(r),
fitted to energies and forces by ridge-regularised least squares; every member on its own
bootstrap resample of the training structures, so the members disagree where data are thin.
Deliberately simple: one element, no angles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from alearn.config.schema import option
from alearn.models.calculator import SurrogateCalculator
from alearn.models.prediction import Prediction
from alearn.models.protocol import PointResult, Trained, TrainRequest, TrainSummary

KIND = "pairs"


def features(atoms: Atoms, centres: np.ndarray, width: float, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """(M,) pair sums of g_m and (n, 3, M) their negative gradients (the force features)."""
    i, j, d, vec = neighbor_list("ijdD", atoms, cutoff)
    fc = 0.5 * (np.cos(np.pi * d / cutoff) + 1.0)
    dfc = -0.5 * np.pi / cutoff * np.sin(np.pi * d / cutoff)
    gauss = np.exp(-0.5 * ((d[:, None] - centres) / width) ** 2)
    g = gauss * fc[:, None]
    dg = gauss * (dfc[:, None] - fc[:, None] * (d[:, None] - centres) / width ** 2)
    phi = 0.5 * g.sum(axis=0)                       # the full list counts each pair twice
    force = np.zeros((len(atoms), 3, len(centres)))
    np.add.at(force, i, (vec / d[:, None])[:, :, None] * dg[:, None, :])
    return phi, force


class PairCommittee:
    """The trained committee: per-member offsets e0 (K,) and coefficients (K, M)."""

    def __init__(self, centres: np.ndarray, width: float, cutoff: float, offsets: np.ndarray,
                 coefficients: np.ndarray) -> None:
        self.centres, self.width, self.cutoff = np.asarray(centres, float), float(width), float(cutoff)
        self.offsets, self.coefficients = np.asarray(offsets, float), np.asarray(coefficients, float)

    def members(self, atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
        """Energies (K,) and forces (K, n, 3) of every member."""
        phi, force = features(atoms, self.centres, self.width, self.cutoff)
        energies = self.offsets * len(atoms) + self.coefficients @ phi
        return energies, np.einsum("nxm,km->knx", force, self.coefficients)

    def point(self, atoms: Atoms) -> PointResult:
        energies, forces = self.members(atoms)
        mean = forces.mean(axis=0)
        spread = np.sqrt(((forces - mean) ** 2).sum(axis=2).mean(axis=0))
        return PointResult(float(energies.mean()), mean, float(energies.std()), spread)

    def predict(self, structures: Sequence[Atoms]) -> Prediction:
        points = [self.point(a) for a in structures]
        return Prediction(energy=np.array([p.energy for p in points]),
                          forces=tuple(p.forces for p in points),
                          energy_std=np.array([p.energy_std for p in points]),
                          forces_std=tuple(p.forces_std for p in points))

    def evaluator(self, **options: Any) -> "PairEvaluator":
        return PairEvaluator(self)

    def as_calculator(self, **options: Any) -> SurrogateCalculator:
        return SurrogateCalculator(self, **options)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = {"kind": KIND, "format_version": 1, "centres": self.centres.tolist(),
                "width": self.width, "cutoff": self.cutoff, "offsets": self.offsets.tolist(),
                "coefficients": self.coefficients.tolist()}
        (directory / "manifest.json").write_text(json.dumps(data, indent=1))


class PairEvaluator:
    """One structure at a time, for the ASE adapter (no stress)."""

    properties = ("energy", "free_energy", "forces", "energy_std", "forces_std", "max_force_std")

    def __init__(self, model: PairCommittee) -> None:
        self.model = model

    def __call__(self, atoms: Atoms, *, stress: bool) -> PointResult:
        return self.model.point(atoms)


class PairSurrogate:
    """The ``alearn.surrogates`` plugin ``pairs``."""

    @dataclass(frozen=True)
    class Params:
        """A committee of pair potentials linear in Gaussian radial functions."""

        kind: Literal["pairs"] = option("pairs", doc="surrogate type")
        members: int = option(4, doc="pair potentials in the committee (bootstrap resamples)", ge=2)
        functions: int = option(10, doc="Gaussian radial functions between r_min_A and cutoff_A", ge=1)
        r_min_A: float = option(0.7, doc="centre of the first radial function", unit="Å", gt=0.0)
        cutoff_A: float = option(3.0, doc="pair cutoff", unit="Å", gt=0.0)
        ridge: float = option(1e-6, doc="ridge regularisation of the least squares", ge=0.0)

    def __init__(self, params: Any) -> None:
        self.params = params

    def train(self, request: TrainRequest) -> Trained:
        p = self.params
        centres = np.linspace(p.r_min_A, p.cutoff_A, p.functions)
        width = (p.cutoff_A - p.r_min_A) / max(p.functions - 1, 1)
        rows = [self._rows(r, centres, width) for r in request.rows if r.labels.forces is not None]
        rng = np.random.default_rng(request.seed)
        fits = [self._fit([rows[k] for k in rng.integers(0, len(rows), len(rows))])
                for _ in range(p.members)]
        model = PairCommittee(centres, width, p.cutoff_A, np.array([f[0] for f in fits]),
                              np.array([f[1:] for f in fits]))
        if request.progress is not None:
            request.progress(1, 1)
        return Trained(model, TrainSummary(len(rows), details={"functions": p.functions}))

    def _rows(self, row: Any, centres: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
        phi, force = features(row.atoms, centres, width, self.params.cutoff_A)
        n = len(row.atoms)
        design = np.vstack([np.concatenate([[n], phi]) / n,
                            np.hstack([np.zeros((3 * n, 1)), force.reshape(3 * n, -1)])])
        target = np.concatenate([[row.labels.energy / n], np.asarray(row.labels.forces).reshape(-1)])
        return design, target

    def _fit(self, rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        a = np.vstack([r[0] for r in rows])
        b = np.concatenate([r[1] for r in rows])
        return np.linalg.solve(a.T @ a + self.params.ridge * np.eye(a.shape[1]), a.T @ b)

    def calculator_options(self) -> dict[str, Any]:
        return {}

    @classmethod
    def load(cls, directory: Path, **options: Any) -> PairCommittee:
        data = json.loads((Path(directory) / "manifest.json").read_text())
        return PairCommittee(np.array(data["centres"]), data["width"], data["cutoff"],
                             np.array(data["offsets"]), np.array(data["coefficients"]))


__all__ = ["PairCommittee", "PairSurrogate", "features"]
