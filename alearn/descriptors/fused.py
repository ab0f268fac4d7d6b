"""The compiled (fused) descriptor path and its selection.

``backend`` choices for :meth:`alearn.models.committee.Committee.evaluate_fast`:

- ``"auto"`` (default): the compiled kernel (:mod:`alearn.descriptors.kernel_numba`) where it
  applies — CPU tensors, float32/float64 — else the torch path (CUDA); with ``create_graph``
  the outputs are differentiable in the network weights through the kernel's transpose;
- ``"numba"``: the compiled kernel wherever it applies (as ``auto``);
- ``"torch"``: always the torch reference path (``chebyshev_vjp``).

The environment variable ``ALEARN_BACKEND`` sets the default (tests and benchmarks run both
paths through it).  If the kernel cannot be loaded or compiled (numba or llvmlite missing or
broken, no writable cache), the torch path is used and one warning says why — never an error.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Literal

import numpy as np
import torch

from alearn.descriptors.chebyshev import ChebyshevSpec, Graph, type_spins
from alearn.errors import UserError

Backend = Literal["auto", "numba", "torch"]
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")
ENVIRONMENT = "ALEARN_BACKEND"

_log = logging.getLogger(__name__)
_kernel: list[ModuleType | None] = []   # [] = not tried yet; [None] = unavailable


def requested_backend(backend: str | None = None) -> str:
    """``backend`` or ``$ALEARN_BACKEND`` or ``"auto"``, checked."""
    value = backend if backend is not None else os.environ.get(ENVIRONMENT, "auto") or "auto"
    if value not in BACKENDS:
        source = f"${ENVIRONMENT}" if backend is None else "backend"
        raise UserError(f"{source} = {value!r} is not one of {list(BACKENDS)}")
    return value


def kernel() -> ModuleType | None:
    """The compiled kernel module, or None (after one warning) when it cannot be used."""
    if not _kernel:
        _kernel.append(_load())
    return _kernel[0]


def _load() -> ModuleType | None:
    try:
        from alearn.descriptors import kernel_numba

        _warm_up(kernel_numba)
        return kernel_numba
    except Exception as exc:  # noqa: BLE001 - any failure to build the kernel → torch path
        _log.warning("compiled descriptor kernel unavailable (%s: %s); using the torch path",
                     type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return None


def _warm_up(module: ModuleType) -> None:
    """Compile (or load from the cache) every kernel on a two-atom molecule, so that a
    compiler failure shows here and not in the middle of a run."""
    graph_i, graph_j = np.array([0, 1]), np.array([1, 0])
    geo = _Geometry.of(module, np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), np.zeros((1, 3, 3)),
                       graph_i, graph_j, np.zeros((2, 3)), np.zeros(2, np.int64))
    species, spins = np.zeros(2, np.int64), np.array([1.0])
    args = (geo.vec, geo.r, geo.starts, geo.j, species, spins, 2.0, 2.0, 2, 2, False)
    module.descriptor(*args, np.zeros((2, 4)))
    with_batch = args[:4] + (geo.pair_batch,) + args[4:]
    module.forces(*with_batch, np.ones((2, 4, 1)), np.zeros((2, 3, 1)), np.zeros((1, 3, 3, 1)))
    module.cotangent_adjoint(*with_batch, np.ones((2, 3, 1)), np.zeros((1, 3, 3, 1)),
                             np.zeros((2, 4, 1)))


def use_kernel(backend: str | None, positions: torch.Tensor) -> bool:
    """Whether this evaluation runs on the compiled kernel."""
    if requested_backend(backend) == "torch":
        return False
    if positions.device.type != "cpu" or positions.dtype not in (torch.float32, torch.float64):
        return False
    return kernel() is not None


@dataclass(frozen=True)
class _Geometry:
    """Pair vectors and distances of one evaluation (float64 numpy, centres sorted)."""

    i: np.ndarray
    j: np.ndarray
    pair_batch: np.ndarray
    starts: np.ndarray
    vec: np.ndarray
    r: np.ndarray

    @classmethod
    def of(cls, module: ModuleType, pos: np.ndarray, cells: np.ndarray, i: np.ndarray,
           j: np.ndarray, shifts: np.ndarray, pair_batch: np.ndarray) -> "_Geometry":
        starts = module.centre_starts(i, pos.shape[0])
        if starts[0] < 0:
            order = np.argsort(i, kind="stable")
            i, j, shifts, pair_batch = i[order], j[order], shifts[order], pair_batch[order]
            starts = module.centre_starts(i, pos.shape[0])
        vec = np.empty((i.shape[0], 3))
        r = np.empty(i.shape[0])
        module.pair_geometry(pos, cells, i, j, shifts, pair_batch, vec, r)
        return cls(i, j, pair_batch, starts, vec, r)


@dataclass(frozen=True)
class Fused:
    """One geometry prepared for the kernel: descriptor, and everything the contraction needs."""

    spec: ChebyshevSpec
    geometry: _Geometry
    species: np.ndarray
    spins: np.ndarray
    features: torch.Tensor        # (N, F) in the caller's dtype
    n_structures: int

    def _args(self) -> tuple:
        s, g = self.spec, self.geometry
        na = s.angular_order + 1 if s.has_angular else 0
        return (g.vec, g.r, g.starts, g.j, self.species, self.spins, s.radial_cutoff_A,
                s.angular_cutoff_A, s.radial_order + 1, na, len(s.elements) > 1)

    def forces_and_virial(self, cotangent: torch.Tensor,
                          virial: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Forces (K, N, 3) and, optionally, the symmetric virial Σ D ⊗ dE/dD (K, B, 3, 3)
        from dE_k/dG (K, N, F), in the cotangent's dtype; differentiable in the cotangent
        (through :func:`~alearn.descriptors.kernel_numba.cotangent_adjoint`)."""
        forces, w = _Contraction.apply(cotangent, self, virial)
        if not virial:
            return forces, None
        return forces, 0.5 * (w + w.transpose(2, 3))

    def _kernel_args(self) -> tuple:
        args = self._args()
        return args[:4] + (self.geometry.pair_batch,) + args[4:]

    def contract(self, cotangent: np.ndarray, virial: bool) -> tuple[np.ndarray, np.ndarray]:
        """Forces (N, 3, K) and raw virial (B or 0, 3, 3, K) from dE/dG (N, F, K), float64."""
        module = kernel()
        assert module is not None
        n, _, k = cotangent.shape
        forces = np.zeros((n, 3, k))
        vir = np.zeros((self.n_structures if virial else 0, 3, 3, k))
        module.forces(*self._kernel_args(), cotangent, forces, vir)
        return forces, vir

    def adjoint(self, forces_bar: np.ndarray, virial_bar: np.ndarray) -> np.ndarray:
        """dL/d(dE/dG) (N, F, K) from dL/dforces (N, 3, K) and dL/dvirial (B or 0, 3, 3, K)."""
        module = kernel()
        assert module is not None
        n, _, k = forces_bar.shape
        out = np.zeros((n, self.spec.n_features, k))
        module.cotangent_adjoint(*self._kernel_args(), forces_bar, virial_bar, out)
        return out


class _Contraction(torch.autograd.Function):
    """(K, N, F) cotangent → forces (K, N, 3), raw virial (K, B, 3, 3) by the kernel; the
    backward pass is the kernel's transpose (the map is linear in the cotangent)."""

    @staticmethod
    def forward(ctx, cotangent: torch.Tensor, fused: "Fused", virial: bool):  # type: ignore[override]
        ctx.fused, ctx.virial, ctx.dtype = fused, virial, cotangent.dtype
        cot = cotangent.detach().permute(1, 2, 0).to(torch.float64).contiguous().numpy()
        forces, vir = fused.contract(cot, virial)
        f = torch.from_numpy(forces).permute(2, 0, 1).to(cotangent.dtype)
        w = torch.from_numpy(vir).permute(3, 0, 1, 2).to(cotangent.dtype)
        return f, w

    @staticmethod
    def backward(ctx, forces_bar: torch.Tensor, virial_bar: torch.Tensor | None):  # type: ignore[override]
        fused: Fused = ctx.fused
        fb = forces_bar.detach().permute(1, 2, 0).to(torch.float64).contiguous().numpy()
        if ctx.virial and virial_bar is not None:
            vb = virial_bar.detach().permute(1, 2, 3, 0).to(torch.float64).contiguous().numpy()
        else:
            vb = np.zeros((0, 3, 3, fb.shape[2]))
        cot_bar = torch.from_numpy(fused.adjoint(fb, vb)).permute(2, 0, 1).to(ctx.dtype)
        return cot_bar, None, None


def fused_descriptor(spec: ChebyshevSpec, graph: Graph, positions: torch.Tensor) -> Fused:
    """Descriptor (N, F) of every atom of ``graph`` at ``positions`` by the compiled kernel."""
    module = kernel()
    assert module is not None
    f64 = lambda t: t.detach().to(torch.float64).contiguous().numpy()  # noqa: E731
    pos = f64(positions)
    geo = _Geometry.of(module, pos, f64(graph.cells), graph.i.numpy(), graph.j.numpy(),
                       f64(graph.shifts), graph.pair_batch.numpy())
    spins = np.asarray(type_spins(len(spec.elements)), np.float64)
    out = np.zeros((pos.shape[0], spec.n_features))
    fused = Fused(spec, geo, graph.species.numpy(), spins, torch.empty(0), graph.n_structures)
    module.descriptor(*fused._args(), out)
    return replace(fused, features=torch.from_numpy(out).to(positions.dtype))


def descriptor_values(spec: ChebyshevSpec, graph: Graph, positions: torch.Tensor,
                      backend: str | None = None) -> torch.Tensor:
    """The descriptor (N, F) without derivatives: the kernel where it applies, else torch."""
    if use_kernel(backend, positions):
        return fused_descriptor(spec, graph, positions).features
    from alearn.descriptors.chebyshev import features

    with torch.no_grad():
        return features(spec, graph, positions)
