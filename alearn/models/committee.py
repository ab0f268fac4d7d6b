"""The committee of Behler–Parrinello networks on the Chebyshev descriptor.

``Committee.evaluate_graph`` is the one torch path used by prediction, the ASE calculator and
training: descriptor → per-element normalisation → K members' atomic energies in one batched
pass → energies per structure (K, B); forces and stress of every member by autograd.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from ase import Atoms

from alearn.descriptors.chebyshev import ChebyshevSpec, Graph, Topology, collate, features, topology
from alearn.models.network import Activation, CommitteeNetworks
from alearn.models.prediction import Prediction
from alearn.models.protocol import PointResult

#: what :meth:`Committee.save` writes (read by :func:`alearn.models.io.load_committee`)
FORMAT_VERSION = 1
KIND = "committee"
WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"


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
                      create_graph: bool = False, backend: str | None = None) -> MemberOutput:
        """Like :meth:`evaluate_graph` (forces always) but with the analytic descriptor
        derivatives: one pass for all members, no autograd graph through the geometry.

        ``backend`` (``"auto"`` | ``"numba"`` | ``"torch"``, default ``$ALEARN_BACKEND`` or
        ``auto``; see :mod:`alearn.descriptors.fused`): the compiled kernel where it applies
        (CPU), else the torch path.  With ``create_graph`` the outputs stay differentiable in
        the network weights (direct force training: only the networks are differentiated
        twice, never the descriptor)."""
        from alearn.descriptors import fused

        if fused.use_kernel(backend, positions):
            return self._evaluate_kernel(graph, positions, stress, create_graph)
        return self._evaluate_torch(graph, positions, stress, create_graph)

    def _evaluate_kernel(self, graph: Graph, positions: torch.Tensor, stress: bool,
                         create_graph: bool) -> MemberOutput:
        """The compiled path: fused descriptor → members' values and input gradients (one
        batched pass, hand-written backward, differentiable in the weights) → fused
        contraction to forces and virial (its transpose for the backward pass)."""
        from alearn.descriptors.fused import fused_descriptor

        s = graph.species
        with torch.no_grad():
            fused = fused_descriptor(self.spec, graph, positions)
            g = fused.features
            scale = self.scale[s]
            x = (g - self.shift[s]) * scale
        with torch.set_grad_enabled(create_graph):
            value, dx = self.networks.value_and_gradient(x, s)
            atomic = value * self.energy_scale + self.reference_energy[s]
            energy = atomic.new_zeros((self.members, graph.n_structures)).index_add(1, graph.batch, atomic)
            forces, virial = fused.forces_and_virial(dx * (scale * self.energy_scale), stress)
            if virial is not None:
                virial = virial / torch.linalg.det(graph.cells).abs()[None, :, None, None]
        return MemberOutput(energy, forces, virial, g)

    def _evaluate_torch(self, graph: Graph, positions: torch.Tensor, stress: bool,
                        create_graph: bool) -> MemberOutput:
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

    def evaluator(self, *, skin_A: float | None = None, dtype: str | None = None,
                  analytic: bool = True) -> "CommitteeEvaluator":
        """One-structure evaluation for MD (see :class:`CommitteeEvaluator`)."""
        return CommitteeEvaluator(self, skin_A=skin_A, dtype=dtype, analytic=analytic)

    def as_calculator(self, **options: Any):
        """The ASE calculator (:class:`alearn.models.calculator.SurrogateCalculator`)."""
        from alearn.models.calculator import SurrogateCalculator

        return SurrogateCalculator(self, **options)

    def save(self, directory: Path, metrics: dict[str, Any] | None = None) -> Path:
        """``manifest.json`` + ``weights.safetensors`` (written first; the manifest last,
        atomically): format version, kind, elements, descriptor, architecture, metrics, the
        learned energy offsets and the sha256 of the weights."""
        from safetensors.torch import save_file

        from alearn.files import sha256_file, write_text_atomic

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS))
        manifest = {
            "format_version": FORMAT_VERSION, "kind": KIND,
            "elements": list(self.spec.elements), "descriptor": self.spec.to_dict(),
            "architecture": {"hidden": list(self.hidden), "activation": self.activation,
                             "members": self.members,
                             "weights_per_member": self.networks.n_weights_per_member},
            "dtype": str(self.dtype).replace("torch.", ""),
            "metrics": metrics if metrics is not None else self.metadata.get("metrics", {}),
            "training": self.metadata.get("training", {}),
            "energy_offsets": {k: list(v) for k, v in self.energy_offsets.items()},
            "files": {WEIGHTS: sha256_file(directory / WEIGHTS)},
        }
        write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, default=float) + "\n",
                          durable=False)
        return directory


class CommitteeEvaluator:
    """Energy, forces, stress (periodic cells) as the committee mean, plus their spreads, for
    one structure at a time.

    The extras are ``energy_std_per_atom``, ``extrapolation``, ``extrapolation_distance`` and
    ``energies_members`` (K,).  Pairs are kept in a Verlet list with ``skin_A`` so MD steps
    reuse them.  ``dtype="float32"`` evaluates in single precision (faster; see docs/ann.md).
    Unset, ``skin_A`` and ``dtype`` are the defaults of ``[model]`` (``CommitteeConfig``).
    ``analytic=True`` (default) uses :meth:`Committee.evaluate_fast` (the analytic descriptor
    derivatives for all members in one pass); ``False`` uses :meth:`Committee.evaluate_graph`
    (autograd, one backward pass per member; the reference path).
    """

    properties = ("energy", "free_energy", "forces", "stress", "energy_std", "forces_std",
                  "max_force_std", "extrapolation", "extrapolation_distance")

    def __init__(self, committee: Committee, *, skin_A: float | None = None,
                 dtype: str | None = None, analytic: bool = True) -> None:
        import copy

        from alearn.config.ann import CommitteeConfig
        from alearn.descriptors.neighbours import VerletList

        defaults = CommitteeConfig()         # one source of the defaults: [model]
        skin_A = defaults.skin_A if skin_A is None else skin_A
        dtype = defaults.dtype if dtype is None else dtype
        torch_dtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
        if committee.dtype != torch_dtype:
            committee = copy.deepcopy(committee).to(dtype=torch_dtype)
        self.committee = committee
        self.skin_A = float(skin_A)
        self.analytic = bool(analytic)
        self._verlet = VerletList(committee.spec.max_cutoff_A, skin_A)
        self._topology: tuple[int, Any] | None = None

    def _graph(self, atoms: Atoms) -> Graph:
        from dataclasses import replace

        pairs = self._verlet.get(atoms)
        c = self.committee
        if self._topology is None or self._topology[0] != self._verlet.builds:
            topo = topology(atoms, c.spec, pairs, skin_A=self.skin_A)
            graph = collate([atoms], [topo], dtype=c.dtype, device=c.device)
            self._topology = (self._verlet.builds, graph)
        graph = self._topology[1]
        cells = torch.as_tensor(np.asarray(atoms.cell[:])[None], dtype=c.dtype, device=c.device)
        return replace(graph, cells=cells)

    def __call__(self, atoms: Atoms, *, stress: bool) -> PointResult:
        graph = self._graph(atoms)
        c = self.committee
        pos = torch.as_tensor(atoms.positions, dtype=c.dtype, device=c.device)
        if self.analytic:
            out = c.evaluate_fast(graph, pos, stress=stress)
        else:
            out = c.evaluate_graph(graph, pos, forces=True, stress=stress)
        energies = out.energy[:, 0].detach().cpu().numpy().astype(np.float64)
        forces = out.forces[:, :, :].detach().cpu().numpy().astype(np.float64)
        mean_f = forces.mean(axis=0)
        dev = np.sqrt(((forces - mean_f) ** 2).sum(axis=2).mean(axis=0))
        count, distance = c.extrapolation(graph, out.features.detach())
        extra = {"energy_std_per_atom": float(energies.std()) / len(atoms),
                 "extrapolation": count.astype(int),
                 "extrapolation_distance": distance.astype(np.float64),
                 "energies_members": energies}
        stress_mean = stress_std = None
        if stress:
            members = voigt(out.stress[:, 0].detach().cpu().numpy().astype(np.float64))
            stress_mean, stress_std = members.mean(axis=0), members.std(axis=0)
        return PointResult(float(energies.mean()), mean_f, float(energies.std()), dev,
                           stress_mean, stress_std, extra)


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
