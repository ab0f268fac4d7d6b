"""Local GPR surrogate: one exact GP on energies and forces per homogeneous subset.

``LocalGPR.fit(structures, cfg, seed=..., engine=...)`` partitions the data
(:mod:`alearn.models.gpr_subsets`), fits the subsets independently (in parallel through an
engine with ``submit(fn, *args) -> Future``; serially without one) and predicts energies,
forces and their std for new structures of a known atom sequence: each structure goes to the
subset of its group whose fingerprint centroid is nearest (or to a subset named by the caller,
as augmentation does for a copy of a training structure).  Saved as ``manifest.json``
(``kind: "gpr"``) + ``tensors.safetensors``; nothing is pickled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from alearn.config.gpr import GprConfig
from alearn.data.records import LabelledStructure
from alearn.descriptors.fingerprints import Features, Fingerprint, make_fingerprint
from alearn.errors import UserError
from alearn.models.gpr_fit import FitSettings, FittedSubset, Hyper, SubsetData
from alearn.models.gpr_io import read_gpr, save_gpr
from alearn.models.gpr_optimise import fit_subset
from alearn.models.gpr_predict import SubsetPredictor
from alearn.models.gpr_subsets import group_structures, rows_per_structure, split_by_budget
from alearn.models.prediction import Prediction
from alearn.models.protocol import PointResult


@dataclass(frozen=True)
class SubsetReport:
    """What was fitted for one subset, with the chosen hyperparameters."""

    name: str
    structures: int
    atoms: int
    rows: int
    hyper: Hyper
    neg_log_likelihood: float
    starts: int
    failed_starts: int
    fit_s: float


def fingerprint_for(cfg: GprConfig, structures: Sequence[Atoms]) -> Fingerprint:
    """The configured fingerprint (SOAP species taken from the data)."""
    spec: dict[str, Any] = {"kind": cfg.fingerprint}
    if cfg.fingerprint == "soap":
        species = sorted({s for a in structures for s in a.get_chemical_symbols()})
        spec.update(asdict(cfg.soap), species=species)
    return make_fingerprint(spec)


def fit_settings(cfg: GprConfig) -> FitSettings:
    """Plain, picklable fitting options from the config."""
    fixed = {name: value for name, value in (
        ("weight_eV", cfg.weight_eV), ("length_scale", cfg.length_scale),
        ("energy_noise_eV", cfg.energy_noise_eV), ("force_noise_eV_A", cfg.force_noise_eV_A))
        if value is not None}
    return FitSettings(ard=cfg.ard, restarts=cfg.restarts, hyper_max_rows=cfg.hyper_max_rows,
                       fixed=fixed, weight_bounds_eV=tuple(cfg.weight_bounds_eV),
                       length_scale_bounds=tuple(cfg.length_scale_bounds),
                       energy_noise_bounds_eV=tuple(cfg.energy_noise_bounds_eV),
                       energy_noise_max_fraction=cfg.energy_noise_max_fraction,
                       force_noise_bounds_eV_A=tuple(cfg.force_noise_bounds_eV_A))


def _element_energies(structures: Sequence[LabelledStructure]) -> dict[int, float]:
    """Per-element reference energies by least squares over all structures."""
    elements = sorted({int(z) for s in structures for z in s.atoms.numbers})
    counts = np.array([[np.count_nonzero(s.atoms.numbers == z) for z in elements] for s in structures])
    energies = np.array([s.labels.energy for s in structures])
    mu, *_ = np.linalg.lstsq(counts.astype(float), energies, rcond=None)
    return {z: float(m) for z, m in zip(elements, mu)}


def _subset_data(name: str, group: list[LabelledStructure], feats: Features, idx: np.ndarray,
                 cfg: GprConfig, element_eV: dict[int, float] | None) -> SubsetData:
    energies = np.array([group[i].labels.energy for i in idx], dtype=float)
    forces = None
    if cfg.use_forces:
        missing = [group[i].id for i in idx if group[i].labels.forces is None]
        if missing:
            raise UserError(f"subset {name}: structures without forces (row ids {missing[:5]}); "
                            "set [model] use_forces = false or label them with forces")
        forces = np.stack([np.asarray(group[i].labels.forces, float).reshape(-1) for i in idx])
    if element_eV is None:
        mean = float(energies.mean())
    else:
        mean = float(sum(element_eV[int(z)] for z in group[idx[0]].atoms.numbers))
    return SubsetData(name, feats.x[idx], feats.jac[idx], energies, forces, mean)


def _submit(engine: Any, fn: Any, *args: Any, key: str) -> Any:
    """``engine.submit(fn, *args)``, naming the task for engines that take a ``key``
    (alearn's Dask and in-process engines); ``concurrent.futures`` executors take none."""
    import inspect

    try:
        takes_key = "key" in inspect.signature(engine.submit).parameters
    except (TypeError, ValueError):
        takes_key = False
    return engine.submit(fn, *args, key=key) if takes_key else engine.submit(fn, *args)


class LocalGPR:
    """A set of fitted subsets with their fingerprint; satisfies the ``Surrogate`` protocol."""

    def __init__(self, fingerprint: Fingerprint, subsets: Sequence[FittedSubset],
                 keys: Sequence[tuple[int, ...]], config: GprConfig | None = None) -> None:
        self.fingerprint, self.subsets, self.keys = fingerprint, list(subsets), list(keys)
        self.config = config
        self.names = [s.data.name for s in self.subsets]
        self.centroids = [s.data.x.mean(axis=0) for s in self.subsets]
        self._predictors: dict[int, SubsetPredictor] = {}
        #: subset name of each training structure (set by :meth:`fit`; empty after :meth:`load`)
        self.training_subsets: tuple[str, ...] = ()

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, structures: Sequence[LabelledStructure], cfg: GprConfig, *, seed: int = 0,
            engine: Any = None) -> "LocalGPR":
        """Partition, then fit every subset (through ``engine.submit`` when given)."""
        if not structures:
            raise UserError("GPR: no training structures")
        rng = np.random.default_rng(seed)
        fingerprint = fingerprint_for(cfg, [s.atoms for s in structures])
        element_eV = _element_energies(structures) if cfg.prior_mean == "per_element" else None
        datas, keys, membership = [], [], [""] * len(structures)
        for group in group_structures([s.atoms for s in structures]):
            members = [structures[i] for i in group.indices]
            feats = fingerprint.compute([m.atoms for m in members])
            per = rows_per_structure(len(group.key), cfg.use_forces)
            for k, idx in enumerate(split_by_budget(feats.x, per, cfg.max_rows, rng)):
                name = f"{group.formula}/{k}"
                datas.append(_subset_data(name, members, feats, idx, cfg, element_eV))
                keys.append(group.key)
                for i in idx:
                    membership[group.indices[i]] = name
        settings = fit_settings(cfg)
        seeds = rng.integers(0, 2**31 - 1, size=len(datas))
        if engine is None:
            fitted = [fit_subset(d, settings, int(s)) for d, s in zip(datas, seeds)]
        else:
            futures = [_submit(engine, fit_subset, d, settings, int(s), key=f"gpr-fit-{d.name}-{s}")
                       for d, s in zip(datas, seeds)]
            fitted = [f.result() for f in futures]
        model = cls(fingerprint, fitted, keys, cfg)
        model.training_subsets = tuple(membership)
        return model

    def reports(self) -> list[SubsetReport]:
        """The chosen hyperparameters and fit statistics of every subset."""
        return [SubsetReport(s.data.name, len(s.data.x), len(k), s.data.rows, s.hyper,
                             s.neg_log_likelihood, s.starts, s.failed_starts, s.fit_s)
                for s, k in zip(self.subsets, self.keys)]

    # ------------------------------------------------------------------ prediction
    def _predictor(self, i: int) -> SubsetPredictor:
        if i not in self._predictors:
            self._predictors[i] = SubsetPredictor(self.subsets[i])
        return self._predictors[i]

    def _route(self, structures: Sequence[Atoms], subsets: Sequence[str] | None
               ) -> list[tuple[list[int], int, Features]]:
        """(structure indices, subset index, features) for every subset that gets structures."""
        plan: dict[int, list[int]] = {}
        feats_of: dict[int, tuple[list[int], Features]] = {}
        for group in group_structures(structures):
            candidates = [i for i, k in enumerate(self.keys) if k == group.key]
            if not candidates:
                raise UserError(f"GPR: no subset was trained on {group.formula} with this atom "
                                f"order; trained: {', '.join(sorted(set(self.names)))}")
            feats = self.fingerprint.compute([structures[i] for i in group.indices])
            for row, index in enumerate(group.indices):
                chosen = (self.names.index(subsets[index]) if subsets is not None else
                          min(candidates, key=lambda c: np.sum((self.centroids[c] - feats.x[row]) ** 2)))
                plan.setdefault(chosen, []).append(index)
                feats_of[index] = (row, feats)
        out = []
        for chosen, indices in plan.items():
            rows = [feats_of[i][0] for i in indices]
            source = feats_of[indices[0]][1]
            out.append((indices, chosen, Features(source.x[rows], source.jac[rows])))
        return out

    def predict(self, structures: Sequence[Atoms], *, forces_std: bool = False,
                subsets: Sequence[str] | None = None) -> Prediction:
        """Energies, forces and energy std (forces std on request) of ``structures``."""
        n = len(structures)
        energy, std = np.zeros(n), np.zeros(n)
        forces: list[np.ndarray | None] = [None] * n
        fstd: list[np.ndarray | None] = [None] * n
        for indices, chosen, feats in self._route(structures, subsets):
            predictor = self._predictor(chosen)
            e, f = predictor.mean(feats.x, feats.jac)
            s = predictor.energy_std(feats.x, feats.jac)
            fs = predictor.forces_std(feats.x, feats.jac) if forces_std else None
            for row, i in enumerate(indices):
                energy[i], std[i] = e[row], s[row]
                forces[i] = f[row].reshape(-1, 3)
                if fs is not None:
                    fstd[i] = fs[row]
        return Prediction(energy=energy, forces=tuple(forces), energy_std=std,
                          forces_std=tuple(fstd) if forces_std else None)

    def subset_of(self, structures: Sequence[Atoms]) -> list[str]:
        """The subset each structure would be predicted by."""
        names = [""] * len(structures)
        for indices, chosen, _ in self._route(structures, None):
            for i in indices:
                names[i] = self.names[chosen]
        return names

    def evaluator(self, *, with_forces_std: bool = True, sticky: bool = True) -> "GprEvaluator":
        """One-structure evaluation for MD (see :class:`GprEvaluator`)."""
        return GprEvaluator(self, with_forces_std=with_forces_std, sticky=sticky)

    def as_calculator(self, **options: Any):
        """The ASE calculator (energy, forces, energy_std, forces_std, max_force_std; no stress)."""
        from alearn.models.calculator import SurrogateCalculator

        return SurrogateCalculator(self, **options)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        """``manifest.json`` + ``tensors.safetensors`` (see :mod:`alearn.models.gpr_io`)."""
        save_gpr(self, Path(directory))

    @classmethod
    def load(cls, directory: Path) -> "LocalGPR":
        """Read a model written by :meth:`save`."""
        return cls(*read_gpr(Path(directory)))


def load_gpr(directory: Path) -> LocalGPR:
    """Read a model written by :meth:`LocalGPR.save`."""
    return LocalGPR.load(directory)


class GprEvaluator:
    """The local GPR for one structure at a time, so MD can run on it (GPR-driven exploration).

    Results: energy, forces, ``energy_std`` (eV) and, unless ``with_forces_std=False``,
    ``forces_std`` (per atom, eV/Å) and ``max_force_std``.  No stress: the fingerprints are
    functions of atomic positions only (inverse distances and finite-system SOAP have no cell;
    DScribe gives no cell derivatives for periodic SOAP), so asking for it raises ASE's
    ``PropertyNotImplementedError``.

    Routing: when a group of structures was split into several subsets, a structure is
    predicted by the subset with the nearest fingerprint centroid.  Switching subsets along a
    trajectory would make the potential-energy surface jump, so by default (``sticky=True``)
    the evaluator keeps the subset chosen for the first structure it sees (per atom sequence) —
    a smooth, energy-conserving surface whose energy std grows when the trajectory leaves that
    subset's data, which is what the uncertainty monitor is for.  ``sticky=False`` re-routes at
    every call.
    """

    def __init__(self, model: LocalGPR, *, with_forces_std: bool = True, sticky: bool = True) -> None:
        self.model = model
        self.with_forces_std = with_forces_std
        self.sticky = sticky
        self.subsets: dict[tuple[int, ...], str] = {}
        spreads = ("forces_std", "max_force_std") if with_forces_std else ()
        self.properties = ("energy", "free_energy", "forces", "energy_std") + spreads

    def subset_for(self, atoms: Atoms) -> str | None:
        """The subset that predicts ``atoms`` (None: nearest centroid at every call)."""
        if not self.sticky:
            return None
        key = tuple(int(z) for z in atoms.numbers)
        if key not in self.subsets:
            self.subsets[key] = self.model.subset_of([atoms])[0]
        return self.subsets[key]

    def __call__(self, atoms: Atoms, *, stress: bool) -> PointResult:
        subset = self.subset_for(atoms)
        pred = self.model.predict([atoms], forces_std=self.with_forces_std,
                                  subsets=None if subset is None else [subset])
        return PointResult(float(pred.energy[0]), pred.forces[0], float(pred.energy_std[0]),
                           pred.forces_std[0] if self.with_forces_std else None)
