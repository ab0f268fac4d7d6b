"""Per-member losses of a mini-batch: energy per atom, forces (masked components), stress.

L_k = Σ_s w_ks [(1−α)·½(ΔE_ks/N_s)² + α·mean_masked|ΔF|² + β·mean(Δσ[GPa]²)] / Σ_s w_ks,
with w_ks the bootstrap multiplicity of structure s in member k's training set (1 without
bootstrap).  Energy-only batches use the cached descriptors (no geometry graph at all); force
and stress batches use the analytic descriptor derivatives, so only the networks are
differentiated twice (``Committee.evaluate_fast(create_graph=True)``).

With ``huber_delta`` > 0 the force term uses the Huber function per component instead of the
square, scaled to match it below δ: h(d) = d² for |d| ≤ δ, 2δ|d| − δ² above, so a structure with
extreme forces (close contacts, collapsing frames) pulls with a bounded gradient instead of
dominating the loss.

Fragment rows carry a constant energy offset of their type: ``offsets`` (K, B) is added to the
predicted energies before ΔE is taken (zero for rows without a type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from ase.units import GPa

from alearn.descriptors.chebyshev import collate
from alearn.models.committee import Committee
from alearn.train.prepare import Prepared


@dataclass(frozen=True)
class Terms:
    """Per-member, per-structure loss terms, each (K, B); absent terms are None.
    ``residual`` is ΔE (predicted + offset − reference, eV) and ``n_atoms`` (B,)."""

    energy: torch.Tensor
    residual: torch.Tensor
    n_atoms: torch.Tensor
    forces: torch.Tensor | None
    has_forces: torch.Tensor | None   # (B,) bool
    stress: torch.Tensor | None
    has_stress: torch.Tensor | None


def energies_from_cache(model: Committee, batch: Sequence[Prepared]) -> torch.Tensor:
    """(K, B) energies from the cached descriptors (rows already split by element, so each
    element's network sees one contiguous block and no per-atom gathers are needed)."""
    dev = model.shift.device
    energy = model.shift.new_zeros((model.members, len(batch)))
    counts = torch.zeros(len(batch), len(model.spec.elements), dtype=model.dtype, device=dev)
    for t, element in enumerate(model.spec.elements):
        rows = [p.by_element[t] for p in batch]
        sizes = torch.tensor([len(x) for x in rows], device=dev)
        if int(sizes.sum()) == 0:
            continue
        counts[:, t] = sizes.to(model.dtype)
        x = (torch.cat(rows) - model.shift[t]) * model.scale[t]
        index = torch.repeat_interleave(torch.arange(len(batch), device=dev), sizes)
        energy = energy.index_add(1, index, model.networks.element_forward(element, x))
    return energy * model.energy_scale + counts @ model.reference_energy


def energy_term(residual: torch.Tensor, n_atoms: torch.Tensor) -> torch.Tensor:
    """½ (ΔE / N)², (K, B)."""
    return 0.5 * (residual / n_atoms) ** 2


def batch_terms(model: Committee, batch: Sequence[Prepared], *, forces: bool, stress: bool,
                create_graph: bool, offsets: torch.Tensor | None = None,
                huber_delta: float = 0.0) -> Terms:
    """Loss terms of every member on one batch (``offsets``: (K, B) energy offsets or None;
    ``huber_delta`` (eV/Å) > 0: Huber instead of squared force errors)."""
    dev = model.shift.device
    ref_e = torch.tensor([p.energy for p in batch], dtype=model.dtype, device=dev)
    n_atoms = torch.tensor([p.n_atoms for p in batch], dtype=model.dtype, device=dev)
    forces = forces and any(p.forces is not None for p in batch)
    stress = stress and any(p.stress is not None for p in batch)
    if offsets is not None:
        ref_e = ref_e - offsets
    if not (forces or stress):
        res = energies_from_cache(model, batch) - ref_e
        return Terms(energy_term(res, n_atoms), res, n_atoms, None, None, None, None)
    atoms = [p.structure.atoms for p in batch]
    graph = collate(atoms, [p.topology for p in batch], dtype=model.dtype, device=dev)
    pos = torch.cat([torch.as_tensor(a.positions, dtype=model.dtype, device=dev) for a in atoms])
    out = model.evaluate_fast(graph, pos, stress=stress, create_graph=create_graph)
    res = out.energy - ref_e
    f_term, has_f = _force_terms(out.forces, batch, graph.batch, huber_delta) if forces else (None, None)
    s_term = has_s = None
    if stress:
        s_term, has_s = _stress_terms(out.stress, batch)
    return Terms(energy_term(res, n_atoms), res, n_atoms, f_term, has_f, s_term, has_s)


def _force_terms(pred: torch.Tensor, batch: Sequence[Prepared], atom_batch: torch.Tensor,
                 huber_delta: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared (or Huber, see module docstring) force error over each structure's chosen
    components, (K, B)."""
    ref = torch.cat([p.forces if p.forces is not None else torch.zeros(p.n_atoms, 3, dtype=pred.dtype, device=pred.device)
                     for p in batch])
    mask = torch.cat([p.force_mask if p.force_mask is not None else torch.zeros(p.n_atoms, 3, dtype=torch.bool, device=pred.device)
                      for p in batch]).to(pred.dtype)
    if huber_delta > 0:
        error = 2.0 * torch.nn.functional.huber_loss(pred, ref.expand_as(pred), reduction="none",
                                                     delta=huber_delta)
    else:
        error = (pred - ref) ** 2
    sq = (error * mask).sum(dim=2)                               # (K, N)
    per = sq.new_zeros((pred.shape[0], len(batch))).index_add(1, atom_batch, sq)
    count = mask.sum(dim=1).new_zeros(len(batch)).index_add(0, atom_batch, mask.sum(dim=1))
    has = count > 0
    return per / count.clamp_min(1.0), has


def _stress_terms(pred: torch.Tensor, batch: Sequence[Prepared]) -> tuple[torch.Tensor, torch.Tensor]:
    has = torch.tensor([p.stress is not None for p in batch], device=pred.device)
    ref = torch.stack([p.stress if p.stress is not None else torch.zeros(3, 3, dtype=pred.dtype, device=pred.device)
                       for p in batch])
    diff = (pred - ref) / GPa
    return (diff**2).mean(dim=(2, 3)), has


def member_losses(terms: Terms, weights: torch.Tensor, energy_weight: float,
                  force_weight: float, stress_weight: float) -> torch.Tensor:
    """(K,) weighted mean loss of each member; ``weights`` (K, B) bootstrap multiplicities."""
    total = energy_weight * terms.energy
    if terms.forces is not None and force_weight > 0:
        total = total + force_weight * terms.forces * terms.has_forces
    if terms.stress is not None and stress_weight > 0:
        total = total + stress_weight * terms.stress * terms.has_stress
    return (total * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-12)
