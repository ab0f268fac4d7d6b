"""ASE calculator of a trained committee, with the spread keys of ``alearn.models.prediction``."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from alearn.descriptors.chebyshev import collate, topology
from alearn.descriptors.neighbours import VerletList
from alearn.models.committee import Committee, voigt


class CommitteeCalculator(Calculator):
    """Energy, forces, stress (periodic cells) as the committee mean, plus their spreads.

    ``results`` also holds ``energy_std`` (and ``energy_std_per_atom``), ``forces_std`` (per
    atom), ``max_force_std``,
    ``extrapolation``, ``extrapolation_distance``, ``energies_members`` (K,) and
    ``stress_std`` (Voigt).  Pairs are kept in a Verlet list with ``skin_A`` so MD steps
    reuse them.  ``dtype="float32"`` evaluates in single precision (faster; see docs/ann.md).
    ``analytic=True`` (default) uses the analytic descriptor derivatives for all members in
    one pass; ``False`` uses autograd (one backward pass per member; the reference path).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energy_std",
                              "forces_std", "max_force_std", "extrapolation",
                              "extrapolation_distance"]

    def __init__(self, committee: Committee, *, skin_A: float = 1.0,
                 dtype: str = "float64", analytic: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        torch_dtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
        if committee.dtype != torch_dtype:
            committee = copy.deepcopy(committee).to(dtype=torch_dtype)
        self.committee = committee
        self.skin_A = float(skin_A)
        self.analytic = bool(analytic)
        self._verlet = VerletList(committee.spec.max_cutoff_A, skin_A)
        self._topology: tuple[int, Any] | None = None

    def _graph(self, atoms: Atoms):
        pairs = self._verlet.get(atoms)
        c = self.committee
        if self._topology is None or self._topology[0] != self._verlet.builds:
            topo = topology(atoms, c.spec, pairs, skin_A=self.skin_A)
            graph = collate([atoms], [topo], dtype=c.dtype, device=c.device)
            self._topology = (self._verlet.builds, graph)
        graph = self._topology[1]
        cells = torch.as_tensor(np.asarray(atoms.cell[:])[None], dtype=c.dtype, device=c.device)
        return replace(graph, cells=cells)

    def calculate(self, atoms: Atoms | None = None, properties=("energy",),
                  system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        graph = self._graph(atoms)
        c = self.committee
        want_stress = "stress" in properties and bool(np.all(atoms.pbc))
        pos = torch.as_tensor(atoms.positions, dtype=c.dtype, device=c.device)
        if self.analytic:
            out = c.evaluate_fast(graph, pos, stress=want_stress)
        else:
            out = c.evaluate_graph(graph, pos, forces=True, stress=want_stress)
        energies = out.energy[:, 0].detach().cpu().numpy().astype(np.float64)
        forces = out.forces[:, :, :].detach().cpu().numpy().astype(np.float64)
        mean_f = forces.mean(axis=0)
        dev = np.sqrt(((forces - mean_f) ** 2).sum(axis=2).mean(axis=0))
        count, distance = c.extrapolation(graph, out.features.detach())
        self.results = {
            "energy": float(energies.mean()), "free_energy": float(energies.mean()),
            "forces": mean_f, "energy_std": float(energies.std()),
            "energy_std_per_atom": float(energies.std()) / len(atoms), "forces_std": dev,
            "max_force_std": float(dev.max(initial=0.0)), "extrapolation": count.astype(int),
            "extrapolation_distance": distance.astype(np.float64),
            "energies_members": energies,
        }
        if want_stress:
            members = voigt(out.stress[:, 0].detach().cpu().numpy().astype(np.float64))
            self.results["stress"] = members.mean(axis=0)
            self.results["stress_std"] = members.std(axis=0)
