"""Learnable per-fragment-type energy offsets of a committee (Herbold & Behler 2023).

Fragments of different stoichiometry cut from one large system carry different constant energy
offsets relative to a sum of atomic energies; forces do not.  Every fragment type seen in the
training set gets one offset per committee member, added to the predicted energy of its rows in
the energy loss.  An offset is parametrised as ``init + N_type · energy_scale · θ`` so that
the optimiser moves it on the scale of a per-atom energy; ``init`` is the mean residual of the
type's rows for each member at the start of training (the optimum for fixed networks).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import torch

from alearn.models.committee import Committee
from alearn.train.losses import Terms, energies_from_cache, energy_term
from alearn.train.prepare import Prepared


class Offsets:
    """θ (K, T) of the training types; rows with index −1 or ≥ T get no offset."""

    def __init__(self, model: Committee, train: Sequence[Prepared], types: Mapping[str, int]) -> None:
        self.keys = sorted(types, key=types.__getitem__)
        k, t = model.members, len(self.keys)
        self.init = torch.zeros(k, t, dtype=model.dtype, device=model.device)
        self.scale = torch.zeros(t, dtype=model.dtype, device=model.device)
        with torch.no_grad():
            for index in range(t):
                rows = [p for p in train if p.offset_type == index]
                energy = energies_from_cache(model, rows)
                reference = torch.tensor([p.energy for p in rows], dtype=model.dtype, device=model.device)
                self.init[:, index] = (reference - energy).mean(dim=1)
                self.scale[index] = rows[0].n_atoms * model.energy_scale
        self.theta = torch.zeros(k, t, dtype=model.dtype, device=model.device, requires_grad=True)

    @property
    def count(self) -> int:
        return len(self.keys)

    def values(self) -> torch.Tensor:
        """(K, T) offsets in eV."""
        return self.init + self.scale * self.theta

    def for_batch(self, batch: Sequence[Prepared]) -> torch.Tensor | None:
        """(K, B) offsets of a batch's rows (zero for rows without a training type)."""
        if not self.keys:
            return None
        full = torch.cat([self.values(), self.values().new_zeros(self.init.shape[0], 1)], dim=1)
        index = [p.offset_type if 0 <= p.offset_type < self.count else self.count for p in batch]
        return full[:, torch.as_tensor(index, device=full.device)]

    def as_dict(self) -> dict[str, tuple[float, ...]]:
        """Type key → one offset (eV) per member."""
        values = self.values().detach().cpu().numpy()
        return {key: tuple(float(v) for v in values[:, i]) for i, key in enumerate(self.keys)}


def unseen_type_fallback(terms: Sequence[Terms], batches: Sequence[Sequence[Prepared]],
                         n_known: int) -> list[Terms]:
    """Energy terms of rows whose fragment type has no learned offset (index ≥ ``n_known``),
    recomputed after removing each such type's mean residual per member (evaluation's rule)."""
    types = torch.tensor([p.offset_type for b in batches for p in b])
    if not bool((types >= n_known).any()):
        return list(terms)
    residual = torch.cat([t.residual.detach() for t in terms], dim=1)
    for value in torch.unique(types[types >= n_known]).tolist():
        sel = (types == value).to(residual.device)
        residual[:, sel] = residual[:, sel] - residual[:, sel].mean(dim=1, keepdim=True)
    out, start = [], 0
    for t in terms:
        stop = start + t.residual.shape[1]
        out.append(replace(t, energy=energy_term(residual[:, start:stop], t.n_atoms)))
        start = stop
    return out
