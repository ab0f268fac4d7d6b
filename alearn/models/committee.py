"""The committee of Behler–Parrinello networks on the Chebyshev descriptor.

``Committee.evaluate_graph`` is the one torch path used by prediction, the ASE calculator and
training: descriptor → per-element normalisation → K members' atomic energies in one batched
pass → energies per structure (K, B); forces and stress of every member by autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from ase import Atoms

from alearn.descriptors.chebyshev import ChebyshevSpec, Graph, Topology, collate, features, topology
from alearn.models.network import Activation, CommitteeNetworks
from alearn.models.prediction import Prediction


@dataclass(frozen=True)
class MemberOutput:
    """Per-member torch outputs of one graph: energy (K, B), forces (K, N, 3), stress (K, B, 3, 3)."""

    energy: torch.Tensor
    forces: torch.Tensor | None
    stress: torch.Tensor | None
    features: torch.Tensor


class Committee(torch.nn.Module):
    """K atomic neural-network potentials sharing one descriptor and normalisation."""

    def __init__(self, spec: ChebyshevSpec, hidden: Sequence[int], activation: Activation,
                 members: int, *, seeds: Sequence[int] | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.spec = spec
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        n_s, n_f = len(spec.elements), spec.n_features
        self.networks = CommitteeNetworks(spec.elements, n_f, self.hidden, activation, members,
                                          seeds, dtype)
        for name, value in (("shift", torch.zeros(n_s, n_f)), ("scale", torch.ones(n_s, n_f)),
                            ("feature_min", torch.zeros(n_s, n_f)),
                            ("feature_max", torch.zeros(n_s, n_f)),
                            ("reference_energy", torch.zeros(n_s)),
                            ("energy_scale", torch.ones(()))):
            self.register_buffer(name, value.to(dtype))
        self.metadata: dict[str, Any] = {}
        #: fragment type key (``frag:`` + formula) → learned energy offset (eV) of each member
        self.energy_offsets: dict[str, tuple[float, ...]] = {}

    @property
    def members(self) -> int:
        return self.networks.members

    @property
    def dtype(self) -> torch.dtype:
        return self.shift.dtype

    @property
    def device(self) -> torch.device:
        return self.shift.device

    def topologies(self, structures: Sequence[Atoms]) -> list[Topology]:
        return [topology(atoms, self.spec) for atoms in structures]

    def graph(self, structures: Sequence[Atoms], topos: Sequence[Topology] | None = None) -> Graph:
        topos = topos if topos is not None else self.topologies(structures)
        return collate(structures, topos, dtype=self.dtype, device=self.device)

    def atomic_energies(self, graph: Graph, descriptor: torch.Tensor) -> torch.Tensor:
        """(K, N) atomic energies in eV from raw descriptors."""
        s = graph.species
        x = (descriptor - self.shift[s]) * self.scale[s]
        return self.networks(x, s) * self.energy_scale + self.reference_energy[s]

    def evaluate_graph(self, graph: Graph, positions: torch.Tensor, *, forces: bool = True,
                       stress: bool = False, create_graph: bool = False) -> MemberOutput:
        """Energies of every member, and forces/stress by autograd when asked."""
        positions = positions if positions.requires_grad or not (forces or stress) \
            else positions.detach().requires_grad_(True)
        strain = None
        if stress:
            strain = torch.zeros_like(graph.cells).requires_grad_(True)
        g = features(self.spec, graph, positions, strain)
        atomic = self.atomic_energies(graph, g)
        energy = atomic.new_zeros((self.members, graph.n_structures)).index_add(1, graph.batch, atomic)
        if not (forces or stress):
            return MemberOutput(energy, None, None, g)
        inputs = [positions] + ([strain] if stress else [])
        f_list, s_list = [], []
        for k in range(self.members):
            grads = torch.autograd.grad(energy[k].sum(), inputs, create_graph=create_graph,
                                        retain_graph=create_graph or k < self.members - 1)
            f_list.append(-grads[0])
            if stress:
                s_list.append(grads[1])
        f_out = torch.stack(f_list) if forces else None
        s_out = None
        if stress:
            volume = torch.linalg.det(graph.cells).abs()
            s_out = torch.stack(s_list) / volume[None, :, None, None]
        return MemberOutput(energy, f_out, s_out, g)

    def evaluate_fast(self, graph: Graph, positions: torch.Tensor, *, stress: bool = False,
                      create_graph: bool = False) -> MemberOutput:
        """Like :meth:`evaluate_graph` (forces always) but with the analytic descriptor
        derivatives: one pass for all members, no autograd graph through the geometry.

        With ``create_graph`` the outputs stay differentiable in the network weights (direct
        force training: only the networks are differentiated twice, never the descriptor)."""
        from alearn.descriptors import chebyshev_vjp as vjp

        n_atoms = positions.shape[0]
        s = graph.species
        with torch.no_grad():
            small, ex = vjp.expand(self.spec, graph, positions.detach())
            g = vjp.descriptor(self.spec, small, ex, n_atoms)
            x = (g - self.shift[s]) * self.scale[s]
        with torch.enable_grad():
            xs = x.unsqueeze(0).repeat(self.members, 1, 1).requires_grad_(True)
            atomic = self.networks.forward_members(xs, s) * self.energy_scale
            (dx,) = torch.autograd.grad(atomic.sum(), xs, create_graph=create_graph)
        with torch.set_grad_enabled(create_graph):
            if not create_graph:
                atomic = atomic.detach()
            atomic = atomic + self.reference_energy[s]
            energy = atomic.new_zeros((self.members, graph.n_structures)).index_add(1, graph.batch, atomic)
            cotangent = (dx * self.scale[s]).transpose(0, 1)
            grad = vjp.pair_gradients(self.spec, small, ex, cotangent)
            forces, virial = vjp.forces_and_virial(small, ex, grad, n_atoms, stress)
            if virial is not None:
                virial = virial / torch.linalg.det(graph.cells).abs()[None, :, None, None]
        return MemberOutput(energy, forces, virial, g)

    def extrapolation(self, graph: Graph, descriptor: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Per atom: count of components outside the training range and the largest excess."""
        s = graph.species
        lo, hi = self.feature_min[s], self.feature_max[s]
        width = (hi - lo).clamp_min(1e-12)
        excess = torch.maximum(lo - descriptor, descriptor - hi).clamp_min(0.0) / width
        excess = torch.where(excess > 1e-6, excess, torch.zeros_like(excess))  # rounding noise
        count = (excess > 0).sum(dim=1)
        return count.cpu().numpy(), excess.max(dim=1).values.detach().cpu().numpy()

    def predict(self, structures: Sequence[Atoms], *, stress: bool | None = None) -> Prediction:
        """Committee mean and spread of energy, forces (and stress for periodic structures)."""
        structures = list(structures)
        if stress is None:
            stress = all(np.all(a.pbc) for a in structures)
        graph = self.graph(structures)
        pos = torch.as_tensor(np.concatenate([a.positions for a in structures]),
                              dtype=self.dtype, device=self.device)
        return summarise(self.evaluate_fast(graph, pos, stress=stress), graph)

    def as_calculator(self, **kwargs: Any):
        from alearn.models.calculator import CommitteeCalculator

        return CommitteeCalculator(self, **kwargs)

    def save(self, directory: Path, metrics: dict[str, Any] | None = None) -> Path:
        from alearn.models.io import save_committee

        return save_committee(self, Path(directory), metrics=metrics)

    @classmethod
    def load(cls, directory: Path, *, device: str = "cpu") -> "Committee":
        from alearn.models.io import load_committee

        return load_committee(Path(directory), device=device)


def voigt(tensor: np.ndarray) -> np.ndarray:
    """(…, 3, 3) → (…, 6) in ASE's Voigt order xx, yy, zz, yz, xz, xy."""
    return tensor[..., [0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]


def summarise(out: MemberOutput, graph: Graph) -> Prediction:
    """Mean and spread over members, split per structure."""
    energy = out.energy.detach().cpu().numpy().astype(np.float64)
    forces = out.forces.detach().cpu().numpy().astype(np.float64)
    mean_f = forces.mean(axis=0)
    dev = np.sqrt(((forces - mean_f) ** 2).sum(axis=2).mean(axis=0))
    splits = np.cumsum(graph.n_atoms.cpu().numpy())[:-1]
    stress = stress_std = None
    if out.stress is not None:
        members = voigt(out.stress.detach().cpu().numpy().astype(np.float64))
        stress, stress_std = members.mean(axis=0), members.std(axis=0)
    return Prediction(energy=energy.mean(axis=0), forces=tuple(np.split(mean_f, splits)),
                      energy_std=energy.std(axis=0), forces_std=tuple(np.split(dev, splits)),
                      stress=stress, stress_std=stress_std)
