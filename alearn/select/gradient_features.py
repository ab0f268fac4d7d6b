"""Gradient features of a committee's networks and the Bayesian-linear-regression uncertainty
on them (Zaverkin & Kästner 2021; Zaverkin et al. 2022).

The gradient feature of a structure x is φ(x) = ∂E(x)/∂θ, the derivative of the predicted
energy with respect to network weights θ.  Because E = Σ_i E_i is a sum of atomic energies,
φ(x) = Σ_i φ_i with atomic features φ_i = ∂E_i/∂θ.  Two choices of θ:

- ``last_layer``: the weights and bias of the output layer of every element network.  Then
  φ_i = energy_scale · [h_i, 1], h_i the last hidden activations of atom i (in the block of its
  element); no derivative is needed at all.
- ``sketch``: all weights of the element network, compressed by a fixed Gaussian random
  projection to ``dim`` values per element and member ("sketching"); the per-atom gradients
  come from one analytic back-propagation through the small network.

Features of several members are concatenated (one block per member and element).  Atomic rows
are block-sparse: atom i fills only the block of its own element.

:class:`FeaturePosterior` treats the network as linear in these features: with training rows Φ
(structures for energies, or atoms for atomic values), the posterior variance of a new row φ
is σ²(φ) = φᵀ (ΦᵀΦ + λI)⁻¹ φ, in units of the (unknown) observation noise — calibrate it
(:mod:`alearn.select.calibration_quality`) before reading it in eV.  λ is ``ridge`` times the
mean diagonal of ΦᵀΦ, so it does not depend on the scale of the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import torch
from ase import Atoms

from alearn.descriptors.chebyshev import collate, features, topology

Kind = Literal["last_layer", "sketch"]

_ACTIVATIONS = {"tanh": torch.tanh, "softplus": torch.nn.functional.softplus,
                "silu": torch.nn.functional.silu}


@dataclass(frozen=True)
class GradientFeatures:
    """Atomic gradient features of a batch of structures."""

    atoms: np.ndarray          # (N_atoms, D) atomic features φ_i (block-sparse per element)
    species: np.ndarray        # (N_atoms,) element index of each atom (model's element order)
    structure: np.ndarray      # (N_atoms,) index of the structure of each atom
    n_structures: int
    blocks: tuple[slice, ...]  # columns of each element's block (all members)

    @property
    def dim(self) -> int:
        return int(self.atoms.shape[1])

    def per_structure(self) -> np.ndarray:
        """(B, D) structure features φ(x) = Σ_i φ_i."""
        out = np.zeros((self.n_structures, self.dim))
        np.add.at(out, self.structure, self.atoms)
        return out

    def split_atoms(self) -> list[np.ndarray]:
        """Atomic feature rows of each structure (a list of (n_b, D) arrays)."""
        order = np.argsort(self.structure, kind="stable")
        counts = np.bincount(self.structure, minlength=self.n_structures)
        return np.split(self.atoms[order], np.cumsum(counts)[:-1])


def gradient_features(committee: object, structures: Sequence[Atoms], *,
                      kind: Kind = "last_layer", members: Sequence[int] | None = None,
                      dim: int = 32, seed: int = 0, chunk: int = 64) -> GradientFeatures:
    """Atomic gradient features of ``structures`` for the committee's ``members`` (default all).

    ``kind``, ``dim`` and ``seed`` as in the module docstring (``dim``/``seed``: sketch only)."""
    structures = list(structures)
    spec = committee.spec
    members = list(range(committee.members)) if members is None else [int(m) for m in members]
    n_elements = len(spec.elements)
    width = _block_width(committee, kind, dim)
    blocks = tuple(slice(t * width * len(members), (t + 1) * width * len(members))
                   for t in range(n_elements))
    rows, species, owner = [], [], []
    for start in range(0, len(structures), chunk):
        part = structures[start:start + chunk]
        x, s, b = _normalised_descriptors(committee, part)
        block = np.zeros((len(s), width * len(members) * n_elements))
        for t, element in enumerate(spec.elements):
            idx = np.flatnonzero(s == t)
            if idx.size:
                phi = _element_features(committee, element, x[idx], members, kind, dim, seed)
                block[idx, blocks[t]] = phi
        rows.append(block)
        species.append(s)
        owner.append(b + start)
    scale = float(committee.energy_scale)
    return GradientFeatures(np.concatenate(rows) * scale, np.concatenate(species),
                            np.concatenate(owner), len(structures), blocks)


def _block_width(committee: object, kind: Kind, dim: int) -> int:
    if kind == "last_layer":
        return int(committee.networks.widths[-2]) + 1
    if kind == "sketch":
        return int(dim)
    raise ValueError(f"unknown gradient-feature kind {kind!r}; expected 'last_layer' or 'sketch'")


def _normalised_descriptors(committee: object, structures: Sequence[Atoms]
                            ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Normalised network inputs (N, F), species (N,) and structure index (N,)."""
    spec = committee.spec
    topos = [topology(a, spec) for a in structures]
    graph = collate(structures, topos, dtype=committee.dtype, device=committee.device)
    pos = torch.as_tensor(np.concatenate([a.positions for a in structures]),
                          dtype=committee.dtype, device=committee.device)
    with torch.no_grad():
        g = features(spec, graph, pos)
        s = graph.species
        x = (g - committee.shift[s]) * committee.scale[s]
    return x, s.cpu().numpy(), graph.batch.cpu().numpy()


def _layers(committee: object, element: str, member: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    params = committee.networks.params
    n_layers = len(committee.networks.widths) - 1
    return [(params[f"{element}_{l}_weight"].detach()[member],
             params[f"{element}_{l}_bias"].detach()[member, 0]) for l in range(n_layers)]


def _element_features(committee: object, element: str, x: torch.Tensor, members: Sequence[int],
                      kind: Kind, dim: int, seed: int) -> np.ndarray:
    """(n, width · len(members)) features of the atoms ``x`` of one element."""
    act = _ACTIVATIONS[committee.networks.activation]
    out = []
    for m in members:
        layers = _layers(committee, element, m)
        if kind == "last_layer":
            with torch.no_grad():
                h = x
                for w, b in layers[:-1]:
                    h = act(h @ w + b)
            out.append(torch.cat([h, torch.ones_like(h[:, :1])], dim=1))
        else:
            out.append(_sketched_gradients(layers, x, act, dim, _sketch_seed(seed, element)))
    return torch.cat(out, dim=1).cpu().numpy().astype(np.float64)


def _sketch_seed(seed: int, element: str) -> int:
    return int(seed) * 1_000_003 + sum(ord(c) * 31 ** k for k, c in enumerate(element))


def projections(layers: Sequence[tuple[torch.Tensor, torch.Tensor]], dim: int,
                seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The fixed Gaussian sketch (entries N(0, 1/dim)) of each layer's weight and bias
    gradients, ``[(P_w (in·out, dim), P_b (out, dim)), ...]`` in layer order."""
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for w, _ in layers:
        dtype = w.dtype
        p_w = torch.randn(w.shape[0] * w.shape[1], dim, generator=gen, dtype=dtype) / np.sqrt(dim)
        p_b = torch.randn(w.shape[1], dim, generator=gen, dtype=dtype) / np.sqrt(dim)
        out.append((p_w.to(w.device), p_b.to(w.device)))
    return out


def _sketched_gradients(layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                        act: object, dim: int, seed: int) -> torch.Tensor:
    """Per-atom gradients of the network output w.r.t. all weights and biases, sketched by
    :func:`projections`: one analytic backward pass through the small network."""
    slopes, inputs = [], [x]
    with torch.enable_grad():
        h = x
        for w, b in layers[:-1]:
            z = (h @ w + b).detach().requires_grad_(True)
            a = act(z)
            (slope,) = torch.autograd.grad(a.sum(), z)
            slopes.append(slope)
            h = a.detach()
            inputs.append(h)
    sketch = torch.zeros(x.shape[0], dim, dtype=x.dtype, device=x.device)
    delta = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    for k, (p_w, p_b) in reversed(list(enumerate(projections(layers, dim, seed)))):
        grad_w = (inputs[k][:, :, None] * delta[:, None, :]).reshape(x.shape[0], -1)
        sketch = sketch + grad_w @ p_w + delta @ p_b
        if k:
            delta = (delta @ layers[k][0].T) * slopes[k - 1]
    return sketch


@dataclass(frozen=True)
class FeaturePosterior:
    """Bayesian linear regression on feature rows: σ²(φ) = φᵀ (ΦᵀΦ + λI)⁻¹ φ."""

    cholesky: np.ndarray      # lower-triangular L with L Lᵀ = ΦᵀΦ + λI
    ridge: float              # λ
    n_rows: int

    @classmethod
    def fit(cls, rows: np.ndarray, ridge: float = 1e-3) -> "FeaturePosterior":
        """The posterior of the training rows ``rows`` (n, D); ``ridge`` relative (see module)."""
        rows = np.asarray(rows, dtype=np.float64)
        gram = rows.T @ rows
        d = gram.shape[0]
        mean_diag = float(np.trace(gram)) / max(d, 1)
        lam = ridge * mean_diag if mean_diag > 0 else ridge
        chol = np.linalg.cholesky(gram + lam * np.eye(d))
        return cls(chol, float(lam), int(rows.shape[0]))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """ψ = L⁻¹ φ for each row, so that the posterior kernel is k(x, x′) = ψ·ψ′."""
        from scipy.linalg import solve_triangular

        rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        return solve_triangular(self.cholesky, rows.T, lower=True).T

    def variance(self, rows: np.ndarray) -> np.ndarray:
        """(n,) posterior variances of the rows."""
        psi = self.transform(rows)
        return np.einsum("ij,ij->i", psi, psi)


def element_posteriors(train: GradientFeatures, ridge: float = 1e-3) -> dict[int, FeaturePosterior]:
    """One posterior per element on the training atoms' rows of that element's block."""
    out = {}
    for t, block in enumerate(train.blocks):
        rows = train.atoms[train.species == t][:, block]
        if len(rows):
            out[t] = FeaturePosterior.fit(rows, ridge)
    return out


def atomic_std(posteriors: dict[int, FeaturePosterior], pool: GradientFeatures) -> np.ndarray:
    """(N_atoms,) posterior std of each atom's row under its element's posterior; atoms of an
    element without training atoms get ``inf``."""
    out = np.full(len(pool.species), np.inf)
    for t, block in enumerate(pool.blocks):
        idx = np.flatnonzero(pool.species == t)
        if idx.size and t in posteriors:
            out[idx] = np.sqrt(posteriors[t].variance(pool.atoms[idx][:, block]))
    return out


def structure_std(posterior: FeaturePosterior, pool: GradientFeatures) -> np.ndarray:
    """(B,) posterior std of each structure's summed feature (an energy uncertainty)."""
    return np.sqrt(posterior.variance(pool.per_structure()))


__all__ = ["FeaturePosterior", "GradientFeatures", "atomic_std", "element_posteriors",
           "gradient_features", "structure_std"]
