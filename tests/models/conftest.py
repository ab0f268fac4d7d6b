"""Fixtures for the committee tests: small random committees and small structures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms

from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.models.committee import Committee

torch.set_num_threads(1)


def random_committee(elements=("Cu",), members=3, hidden=(6, 5), seed=0,
                     radial=(4.0, 6), angular=(3.0, 3), activation="softplus") -> Committee:
    spec = ChebyshevSpec(tuple(elements), radial[0], angular[0], radial[1], angular[1])
    committee = Committee(spec, hidden, activation, members, seeds=range(seed, seed + members))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        committee.scale.copy_(0.1 + torch.rand(committee.scale.shape, generator=gen, dtype=torch.float64))
        committee.reference_energy.copy_(torch.randn(len(spec.elements), generator=gen, dtype=torch.float64))
    return committee


def triclinic_cell(seed=0) -> Atoms:
    rng = np.random.default_rng(seed)
    cell = np.array([[4.2, 0.0, 0.0], [0.9, 4.0, 0.0], [0.5, 0.7, 4.4]])
    frac = (np.indices((2, 2, 2)).reshape(3, -1).T + 0.1 * rng.random((8, 3))) / 2
    return Atoms("CuCuCuAuCuAuCuCu", scaled_positions=frac, cell=cell, pbc=True)


def molecule_cluster(seed=1) -> Atoms:
    rng = np.random.default_rng(seed)
    pos = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0], [2.8, 0.2, 0.1],
                    [3.2, 1.0, 0.3], [3.3, -0.6, 0.2]], dtype=float)
    return Atoms("OHHOHH", positions=pos + 0.05 * rng.normal(size=pos.shape))


@pytest.fixture(params=["torch", "numba"])
def backend(request, monkeypatch):
    """Run the test on the torch reference path and on the compiled kernel
    (``$ALEARN_BACKEND``, read by ``Committee.evaluate_fast``)."""
    from alearn.descriptors import fused

    monkeypatch.setenv(fused.ENVIRONMENT, request.param)
    if request.param == "numba":
        assert fused.kernel() is not None, "numba is a dependency: the kernel must load here"
    return request.param


@pytest.fixture
def cell_atoms() -> Atoms:
    return triclinic_cell()


@pytest.fixture
def cluster_atoms() -> Atoms:
    return molecule_cluster()


@pytest.fixture
def make_committee():
    return random_committee


@pytest.fixture
def make_cell():
    return triclinic_cell


@pytest.fixture
def make_cluster():
    return molecule_cluster
