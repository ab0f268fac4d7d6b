"""Hyperparameters by marginal likelihood, and the fit of one subset.

:func:`fit_subset` is a pure function of plain arrays (picklable arguments and result), so the
subsets of a dataset can be fitted in parallel through any engine with ``submit(fn, *args)``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.optimize import minimize

from alearn.models.gpr_fit import (FitSettings, FittedSubset, GprFitError, Hyper, SubsetData,
                                   cholesky, covariance, energy_noise_bounds, make_kernel, median_distance,
                                   noise_diagonal, negative_log_likelihood, subsample, targets)

_NAMES = ("length_scale", "weight_eV", "energy_noise_eV", "force_noise_eV_A")


class _IsotropicBlocks:
    """Length-scale-free pieces of the training covariance, computed once per optimisation.

    With one length scale, ``k = w² exp(-s·|Δx|²/2)`` (s = 1/ℓ²) and every block is a few
    elementwise operations on these pieces, so each likelihood evaluation (and its autograd
    backward pass) costs O(M²) instead of O(M²·D).
    """

    def __init__(self, data: SubsetData) -> None:
        x, jac = torch.as_tensor(data.x), torch.as_tensor(data.jac)
        self.n, self.use_forces = len(x), data.forces is not None
        diff = x[:, None, :] - x[None, :, :]
        self.sq = (diff ** 2).sum(-1)
        if self.use_forces:
            self.p1 = torch.einsum("adi,abd->abi", jac, diff)     # J_aᵀ (x_a - x_b)
            self.p2 = torch.einsum("bdj,abd->abj", jac, diff)     # J_bᵀ (x_a - x_b)
            self.gram = torch.einsum("adi,bdj->abij", jac, jac)

    def covariance(self, inv_sq_ls: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        k = w2 * torch.exp(-0.5 * inv_sq_ls * self.sq)
        if not self.use_forces:
            return k
        s = inv_sq_ls
        ef = (-k[..., None] * s * self.p2).reshape(self.n, -1)
        fe = (k[..., None] * s * self.p1).permute(0, 2, 1).reshape(-1, self.n)
        ff = k[..., None, None] * (s * self.gram - s * s * self.p1[..., :, None] * self.p2[..., None, :])
        ff = ff.permute(0, 2, 1, 3).reshape(ef.shape[1], ef.shape[1])
        return torch.cat([torch.cat([k, ef], 1), torch.cat([fe, ff], 1)], 0)


class _Problem:
    """θ = [log ℓ (1 or D), log w, log σ_E, log σ_F] with fixed entries held out."""

    def __init__(self, data: SubsetData, settings: FitSettings) -> None:
        self.data, self.y = data, targets(data)
        self.n_ls = data.x.shape[1] if settings.ard else 1
        ell = median_distance(data.x)
        spread = float(np.std(data.energies)) if len(data.energies) > 1 else 0.0
        guess = {"length_scale": ell, "weight_eV": max(spread, 1e-2),
                 "energy_noise_eV": 1e-3, "force_noise_eV_A": 1e-2}
        bounds = {"length_scale": tuple(b * ell for b in settings.length_scale_bounds),
                  "weight_eV": settings.weight_bounds_eV,
                  "energy_noise_eV": energy_noise_bounds(settings, data.energies),
                  "force_noise_eV_A": settings.force_noise_bounds_eV_A}
        counts = (self.n_ls, 1, 1, 1)
        self.template = np.concatenate([np.full(c, math.log(settings.fixed.get(n, guess[n])))
                                        for n, c in zip(_NAMES, counts)])
        self.free = np.concatenate([np.full(c, n not in settings.fixed and
                                            (n != "force_noise_eV_A" or data.forces is not None))
                                    for n, c in zip(_NAMES, counts)])
        log_bounds = np.concatenate([np.tile(np.log(bounds[n]), (c, 1)) for n, c in zip(_NAMES, counts)])
        self.bounds = log_bounds[self.free]
        self.template[self.free] = np.clip(self.template[self.free], *self.bounds.T)
        self.kernel = make_kernel(data.x.shape[1], self.hyper(self.template))
        self.blocks = _IsotropicBlocks(data) if self.n_ls == 1 else None
        self.noise_rows = (len(data.x), data.forces.size if data.forces is not None else 0)

    def hyper(self, theta: np.ndarray, jitter: float = 0.0) -> Hyper:
        v = np.exp(theta)
        return Hyper(tuple(float(a) for a in v[:self.n_ls]), float(v[self.n_ls]),
                     float(v[self.n_ls + 1]), float(v[self.n_ls + 2]), jitter)

    def full(self, free_theta: np.ndarray) -> np.ndarray:
        theta = self.template.copy()
        theta[self.free] = free_theta
        return theta

    def __call__(self, free_theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = torch.tensor(self.full(free_theta), requires_grad=True)
        n = self.n_ls
        if self.blocks is not None:
            return self._isotropic(theta)
        with torch.no_grad():
            self.kernel.raw_lengthscale.copy_(theta[:n].reshape(1, -1))
            self.kernel.raw_outputscale.fill_(2.0 * float(theta[n]))
        self.kernel.zero_grad()
        cov = covariance(self.kernel, self.data, theta[n + 1].exp(), theta[n + 2].exp())
        value = self._backward(cov)
        grad = theta.grad.numpy().copy()
        grad[:n] += self.kernel.raw_lengthscale.grad.reshape(-1).numpy()
        grad[n] += 2.0 * float(self.kernel.raw_outputscale.grad)
        return value, grad[self.free]

    def _backward(self, cov: torch.Tensor) -> float:
        """−log p(y) and its gradient pushed into ``cov``'s graph as ½(K⁻¹ − ααᵀ).

        Cheaper than autograd through the Cholesky factorisation (whose backward pass is
        several times the cost of the factorisation itself).
        """
        with torch.no_grad():
            factor, _ = cholesky(cov, f"subset {self.data.name}")
            value = negative_log_likelihood(factor, self.y)
            alpha = torch.cholesky_solve(self.y[:, None], factor)[:, 0]
            weight = 0.5 * (torch.cholesky_inverse(factor) - torch.outer(alpha, alpha))
        cov.backward(weight)
        return float(value)

    def _isotropic(self, theta: torch.Tensor) -> tuple[float, np.ndarray]:
        cov = self.blocks.covariance(torch.exp(-2.0 * theta[0]), torch.exp(2.0 * theta[1]))
        cov = cov + torch.diag(noise_diagonal(*self.noise_rows, theta[2].exp(), theta[3].exp()))
        value = self._backward(cov)
        return value, theta.grad.numpy()[self.free]


def optimise_hyper(data: SubsetData, settings: FitSettings,
                   rng: np.random.Generator) -> tuple[Hyper, float, int, int]:
    """Best hyperparameters over ``settings.restarts`` starts: (hyper, nll, starts, failed)."""
    problem = _Problem(data, settings)
    if not problem.free.any():
        return problem.hyper(problem.template), math.nan, 0, 0
    best, failures, errors = None, 0, []
    for start in range(settings.restarts):
        x0 = problem.template[problem.free] if start == 0 else rng.uniform(*problem.bounds.T)
        try:
            result = minimize(problem, x0, jac=True, method="L-BFGS-B", bounds=problem.bounds,
                              options={"maxiter": 200})
        except GprFitError as exc:
            failures += 1
            errors.append(str(exc))
            continue
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise GprFitError(f"subset {data.name}: every hyperparameter start failed: {errors[-1]}")
    return problem.hyper(problem.full(best.x)), float(best.fun), settings.restarts, failures


def fit_subset(data: SubsetData, settings: FitSettings, seed: int) -> FittedSubset:
    """Optimise the hyperparameters of one subset, then factorise its full covariance."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    sample = subsample(data, settings.hyper_max_rows, rng)
    hyper, nll, starts, failed = optimise_hyper(sample, settings, rng)
    kernel = make_kernel(data.x.shape[1], hyper)
    with torch.no_grad():
        cov = covariance(kernel, data, hyper.energy_noise_eV, hyper.force_noise_eV_A)
        factor, jitter = cholesky(cov, f"subset {data.name}")
        alpha = torch.cholesky_solve(targets(data)[:, None], factor)[:, 0]
    hyper = Hyper(hyper.length_scale, hyper.weight_eV, hyper.energy_noise_eV,
                  hyper.force_noise_eV_A, jitter)
    return FittedSubset(data, hyper, factor.numpy(), alpha.numpy(), nll, starts, failed,
                        time.perf_counter() - start)
