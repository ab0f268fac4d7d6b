"""Posterior predictions of one fitted subset: energy, forces and their std (eV, eV/Å).

The Cholesky factor of the training covariance is reused; the mean and its forces cost
O(B·N·D) through the posterior-mean gradient (no force covariance block is formed); the energy
std needs only the energy rows of the cross-covariance, solved in blocks of test structures
against the triangular factor; force std is computed only on request.

A posterior variance is the prior minus an explained part that is a sum of squares over every
training row; where the two nearly cancel (a test point close to well-fitted data, prior ≫
posterior) the difference is rounding noise.  :func:`posterior_std` floors it at its resolution
(rows · ε · prior), so a std below that is reported as the resolution, never as noise.
"""

from __future__ import annotations

import numpy as np
import torch

from alearn.models.gpr_fit import FittedSubset, make_kernel
from alearn.models.gpr_kernel import energy_energy, energy_force, full_covariance, mean_gradient


def variance_resolution(prior: torch.Tensor, rows: int) -> torch.Tensor:
    """The rounding resolution of ``prior − Σ squares`` over ``rows`` float64 terms."""
    return prior * (rows * torch.finfo(torch.float64).eps)


def posterior_std(prior: torch.Tensor, explained: torch.Tensor, rows: int) -> torch.Tensor:
    """sqrt(prior − explained), floored at :func:`variance_resolution`."""
    return (prior - explained).clamp_min(variance_resolution(prior, rows)).sqrt()


class SubsetPredictor:
    """Predictions from one :class:`FittedSubset` (float64 torch internally, numpy out)."""

    def __init__(self, fitted: FittedSubset, block: int = 256) -> None:
        self.fitted, self.block = fitted, block
        data = fitted.data
        self.kernel = make_kernel(data.x.shape[1], fitted.hyper)
        self.w2 = torch.tensor(fitted.hyper.weight_eV ** 2, dtype=torch.float64)
        self.x, self.jac = torch.as_tensor(data.x), torch.as_tensor(data.jac)
        self.use_forces = data.forces is not None
        with torch.no_grad():
            self.z, self.jz = self.kernel.scale(self.x, self.jac)
            alpha = torch.as_tensor(fitted.alpha)
            n = len(data.x)
            self.alpha_e = alpha[:n]
            self.v = (torch.einsum("ndj,nj->nd", self.jz, alpha[n:].reshape(n, -1))
                      if self.use_forces else None)
        self.factor = torch.as_tensor(fitted.cholesky)

    def _scaled(self, x: np.ndarray, jac: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return self.kernel.scale(torch.as_tensor(x), torch.as_tensor(jac))

    @torch.no_grad()
    def mean(self, x: np.ndarray, jac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energies (B,) and forces (B, 3n)."""
        z, jz = self._scaled(x, jac)
        energy, grad = mean_gradient(z, self.z, self.w2, self.alpha_e, self.v)
        forces = -torch.einsum("bdi,bd->bi", jz, grad)
        return (energy + self.fitted.data.prior_mean_eV).numpy(), forces.numpy()

    @torch.no_grad()
    def energy_std(self, x: np.ndarray, jac: np.ndarray) -> np.ndarray:
        """Posterior std of the (noise-free) energy, blocked over test structures."""
        z, jz = self._scaled(x, jac)
        out = []
        for s in range(0, len(z), self.block):
            zb = z[s:s + self.block]
            k = energy_energy(zb, self.z, self.w2)
            cross = [k, energy_force(k, zb, self.z, self.jz)] if self.use_forces else [k]
            solved = torch.linalg.solve_triangular(self.factor, torch.cat(cross, 1).T, upper=False)
            out.append(posterior_std(self.w2, (solved ** 2).sum(0), len(self.factor)))
        return torch.cat(out).numpy()

    @torch.no_grad()
    def forces_std(self, x: np.ndarray, jac: np.ndarray, block: int = 8) -> np.ndarray:
        """Per-atom force std sqrt(Σ_xyz var) (B, n), blocked over test structures."""
        out = []
        for s in range(0, len(x), block):
            xb, jb = torch.as_tensor(x[s:s + block]), torch.as_tensor(jac[s:s + block])
            cov = full_covariance(self.kernel, xb, jb, self.x, self.jac, forces1=True,
                                  forces2=self.use_forces)[len(xb):]
            solved = torch.linalg.solve_triangular(self.factor, cov.T, upper=False)
            _, jz = self.kernel.scale(xb, jb)
            prior = self.w2 * (jz ** 2).sum(1).reshape(-1)
            std = posterior_std(prior, (solved ** 2).sum(0), len(self.factor))
            out.append((std ** 2).reshape(len(xb), -1, 3).sum(-1).sqrt())
        return torch.cat(out).numpy()
