"""The Huber force term: the square below δ, linear growth above it (bounded gradient)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from alearn.train.losses import _force_terms


def _row(forces: list[list[float]]) -> SimpleNamespace:
    f = torch.tensor(forces, dtype=torch.float64)
    return SimpleNamespace(forces=f, force_mask=torch.ones_like(f, dtype=torch.bool), n_atoms=len(f))


def test_huber_matches_the_square_below_delta_and_grows_linearly_above() -> None:
    batch = [_row([[0.0, 0.0, 0.0]]), _row([[0.0, 0.0, 0.0]])]
    atom_batch = torch.tensor([0, 1])
    pred = torch.tensor([[[0.3, 0.0, 0.0], [40.0, 0.0, 0.0]]], dtype=torch.float64, requires_grad=True)
    mse, has = _force_terms(pred, batch, atom_batch)
    huber, _ = _force_terms(pred, batch, atom_batch, huber_delta=1.0)
    assert bool(has.all())
    assert huber[0, 0].item() == pytest.approx(mse[0, 0].item())            # 0.09 / 3
    assert mse[0, 1].item() == pytest.approx(1600.0 / 3)
    assert huber[0, 1].item() == pytest.approx((2 * 40.0 - 1.0) / 3)        # 2δ|d| − δ²
    (grad,) = torch.autograd.grad(huber.sum(), pred)
    assert grad[0, 1, 0].item() == pytest.approx(2.0 / 3)                   # bounded: 2δ / 3

