"""Derivative-aware kernel: blocks against finite differences of the energy kernel; PSD; layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import molecule

from alearn.descriptors.fingerprints import InverseDistances, Soap
from alearn.models.gpr_fit import Hyper, make_kernel
from alearn.models.gpr_kernel import energy_energy, full_covariance

torch.set_num_threads(1)


def structures(count=2, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = molecule("H2O")
        a.positions += rng.normal(0, 0.08, a.positions.shape)
        out.append(a)
    return out


def k_energy(fp, kernel, a, b) -> float:
    fa, fb = fp.compute([a]), fp.compute([b])
    z1, _ = kernel.scale(torch.as_tensor(fa.x), torch.as_tensor(fa.jac))
    z2, _ = kernel.scale(torch.as_tensor(fb.x), torch.as_tensor(fb.jac))
    return float(energy_energy(z1, z2, kernel.outputscale)[0, 0].detach())


def moved(atoms, coord, h):
    out = atoms.copy()
    out.positions[coord // 3, coord % 3] += h
    return out


@pytest.mark.parametrize("fp,ls", [(InverseDistances(), (0.3,)), (InverseDistances(), (0.2, 0.4, 0.3)),
                                   (Soap(species=("H", "O"), n_max=2, l_max=2), (20.0,))],
                         ids=["invdist", "invdist-ard", "soap"])
def test_blocks_match_finite_differences(fp, ls):
    a, b = structures()
    kernel = make_kernel(fp.compute([a]).x.shape[1], Hyper(ls, 1.3, 1e-3, 1e-2))
    f = fp.compute([a, b])
    x, j = torch.as_tensor(f.x), torch.as_tensor(f.jac)
    with torch.no_grad():
        cov = full_covariance(kernel, x[:1], j[:1], x[1:], j[1:]).numpy()   # [E_a, F_a] × [E_b, F_b]
    # Central differences with an error bound derived from the numbers: the truncation error of
    # step h (O(h²)) is a third of |D(h) - D(2h)|, taken whole; the rounding error is δk/h for a
    # first and δk/h² for a second derivative, δk = 256 ulps of |k| (measured: 10-40 ulps for
    # DScribe's SOAP, fewer for inverse distances).
    dk = 256 * np.finfo(float).eps * abs(k_energy(fp, kernel, a, b))

    def first(f, h=1e-4):
        d = [(f(s) - f(-s)) / (2 * s) for s in (h, 2 * h)]
        return d[0], abs(d[0] - d[1]) + dk / h

    def second(f, h=3e-4):
        d = [(f(s, s) - f(s, -s) - f(-s, s) + f(-s, -s)) / (4 * s * s) for s in (h, 2 * h)]
        return d[0], abs(d[0] - d[1]) + 4 * dk / h ** 2

    for c in (0, 4, 8):
        # Cov(E_a, F_b,c) = -∂k/∂R_b,c
        d_b, err = first(lambda s: k_energy(fp, kernel, a, moved(b, c, s)))
        assert abs(cov[0, 1 + c] + d_b) <= err
        # Cov(F_a,c, E_b) = -∂k/∂R_a,c
        d_a, err = first(lambda s: k_energy(fp, kernel, moved(a, c, s), b))
        assert abs(cov[1 + c, 0] + d_a) <= err
        for c2 in (1, 5):
            # Cov(F_a,c, F_b,c2) = ∂²k/∂R_a,c ∂R_b,c2
            d2, err = second(lambda s1, s2: k_energy(fp, kernel, moved(a, c, s1), moved(b, c2, s2)))
            assert abs(cov[1 + c, 1 + c2] - d2) <= err, (c, c2, cov[1 + c, 1 + c2], d2, err)


def test_joint_covariance_is_symmetric_positive_definite():
    fp = InverseDistances()
    f = fp.compute(structures(count=4))
    kernel = make_kernel(3, Hyper((0.3,), 1.0, 1e-3, 1e-2))
    x, j = torch.as_tensor(f.x), torch.as_tensor(f.jac)
    with torch.no_grad():
        cov = full_covariance(kernel, x, j, x, j).numpy()
    assert cov.shape == (4 * 10, 4 * 10)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    # rank ≤ 4·(1 + D): rigid motions of a water molecule leave x unchanged → null space
    eig = np.linalg.eigvalsh(cov)
    assert eig.min() > -1e-10
    energy_only = full_covariance(kernel, x, j, x, j, forces1=False, forces2=False)
    np.testing.assert_allclose(energy_only.detach().numpy(), cov[:4, :4])


def test_kernel_is_a_gpytorch_kernel_with_log_parameters():
    import gpytorch

    kernel = make_kernel(3, Hyper((0.5, 0.25, 2.0), 3.0, 1e-3, 1e-2))
    assert isinstance(kernel, gpytorch.kernels.Kernel)
    np.testing.assert_allclose(kernel.raw_lengthscale.detach().numpy().ravel(), np.log([0.5, 0.25, 2.0]))
    assert float(kernel.outputscale) == pytest.approx(9.0)
    x = torch.rand(4, 3, dtype=torch.float64)
    dense = kernel(x, x).to_dense()
    assert dense.shape == (4, 4) and float(dense[0, 0]) == pytest.approx(9.0)
