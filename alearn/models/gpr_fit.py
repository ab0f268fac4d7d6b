"""Records and linear algebra of one exact GP on the energies and forces of one subset.

The optimiser and :func:`alearn.models.gpr_optimise.fit_subset` build on these.  Hyperparameters θ = (log ℓ, log w, log σ_E, log σ_F) maximise the exact marginal likelihood
(L-BFGS-B in log space with bounds, gradient by autograd, several starts: the first from a
heuristic guess, the others uniform in the log bounds).  Any of them can be fixed.  A
factorisation that fails gets escalating jitter (relative to the mean diagonal); when even the
largest jitter fails a :class:`GprFitError` names the subset and the hyperparameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from alearn.errors import UserError
from alearn.models.gpr_kernel import EnergyForceKernel, full_covariance, log_two_pi

JITTERS = (1e-10, 1e-8, 1e-6, 1e-4)


class GprFitError(UserError):
    """A GP covariance that stays singular even with the largest jitter."""


@dataclass(frozen=True)
class SubsetData:
    """Training data of one subset: fingerprints, Jacobians, energies (eV), forces (eV/Å)."""

    name: str
    x: np.ndarray                 # (N, D)
    jac: np.ndarray               # (N, D, 3n)
    energies: np.ndarray          # (N,)
    forces: np.ndarray | None     # (N, 3n) or None (energies only)
    prior_mean_eV: float

    @property
    def rows(self) -> int:
        return len(self.x) * (1 + (self.jac.shape[2] if self.forces is not None else 0))


@dataclass(frozen=True)
class Hyper:
    """Kernel and noise hyperparameters of one subset."""

    length_scale: tuple[float, ...]
    weight_eV: float
    energy_noise_eV: float
    force_noise_eV_A: float
    jitter: float = 0.0


@dataclass(frozen=True)
class FitSettings:
    """What :func:`fit_subset` needs from the ``[model]`` config (plain values, picklable)."""

    ard: bool = False
    restarts: int = 3
    hyper_max_rows: int = 800
    fixed: dict[str, float] = field(default_factory=dict)   # names of Hyper fields → value
    weight_bounds_eV: tuple[float, float] = (1e-3, 1e3)
    length_scale_bounds: tuple[float, float] = (1e-2, 1e2)  # × median fingerprint distance
    energy_noise_bounds_eV: tuple[float, float] = (1e-5, 1.0)
    force_noise_bounds_eV_A: tuple[float, float] = (1e-4, 1.0)
    energy_noise_max_fraction: float = 0.1    # σ_E ≤ this × std of the subset's energies (0: off)


def energy_noise_bounds(settings: FitSettings, energies: np.ndarray) -> tuple[float, float]:
    """The bounds of σ_E for a subset with these ``energies``: ``energy_noise_bounds_eV``, the
    upper one lowered to ``energy_noise_max_fraction`` × std(energies) (never below the lower
    bound; a single structure or equal energies pin σ_E at the lower bound)."""
    lo, hi = settings.energy_noise_bounds_eV
    if settings.energy_noise_max_fraction > 0:
        spread = float(np.std(energies)) if len(energies) > 1 else 0.0
        hi = max(lo, min(hi, settings.energy_noise_max_fraction * spread))
    return lo, hi


@dataclass(frozen=True)
class FittedSubset:
    """A fitted subset: data, hyperparameters, the Cholesky factor and the weights α."""

    data: SubsetData
    hyper: Hyper
    cholesky: np.ndarray          # (M, M) lower
    alpha: np.ndarray             # (M,) = K⁻¹ (y - μ)
    neg_log_likelihood: float
    starts: int
    failed_starts: int
    fit_s: float


def make_kernel(n_dims: int, hyper: Hyper) -> EnergyForceKernel:
    """A kernel holding ``hyper`` (float64)."""
    kernel = EnergyForceKernel(n_dims, ard=len(hyper.length_scale) > 1).double()
    with torch.no_grad():
        kernel.raw_lengthscale.copy_(torch.log(torch.tensor(hyper.length_scale)).reshape(1, -1))
        kernel.raw_outputscale.fill_(2.0 * math.log(hyper.weight_eV))
    return kernel


def noise_diagonal(n_structures: int, n_force_rows: int, sigma_e, sigma_f) -> torch.Tensor:
    """σ_E² for energy rows then σ_F² for force rows."""
    ones = torch.ones(n_structures, dtype=torch.float64)
    diag = [ones * sigma_e ** 2]
    if n_force_rows:
        diag.append(torch.ones(n_force_rows, dtype=torch.float64) * sigma_f ** 2)
    return torch.cat(diag)


def targets(data: SubsetData) -> torch.Tensor:
    """Observations minus prior mean: [E - μ, F (flattened)]."""
    parts = [torch.as_tensor(data.energies - data.prior_mean_eV)]
    if data.forces is not None:
        parts.append(torch.as_tensor(data.forces).reshape(-1))
    return torch.cat(parts).double()


def covariance(kernel: EnergyForceKernel, data: SubsetData, sigma_e, sigma_f) -> torch.Tensor:
    """Training covariance with noise on the diagonal."""
    x, jac = torch.as_tensor(data.x), torch.as_tensor(data.jac)
    use_f = data.forces is not None
    k = full_covariance(kernel, x, jac, x, jac, forces1=use_f, forces2=use_f)
    n_f = data.forces.size if use_f else 0
    return k + torch.diag(noise_diagonal(len(data.x), n_f, sigma_e, sigma_f))


def cholesky(matrix: torch.Tensor, what: str) -> tuple[torch.Tensor, float]:
    """Lower Cholesky factor, escalating jitter (× mean diagonal) when the matrix is not PD."""
    factor, info = torch.linalg.cholesky_ex(matrix)
    if int(info) == 0:
        return factor, 0.0
    scale = float(matrix.diagonal().mean().detach())
    for jitter in JITTERS:
        eye = torch.eye(len(matrix), dtype=matrix.dtype) * jitter * scale
        factor, info = torch.linalg.cholesky_ex(matrix + eye)
        if int(info) == 0:
            return factor, jitter * scale
    raise GprFitError(f"{what}: the covariance is not positive definite even with jitter "
                      f"{JITTERS[-1]:g} × mean diagonal; fix the noise hyperparameters higher "
                      "(energy_noise_eV / force_noise_eV_A) or remove duplicate structures")


def negative_log_likelihood(factor: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """−log p(y) of a zero-mean Gaussian with covariance L Lᵀ."""
    alpha = torch.cholesky_solve(y[:, None], factor)[:, 0]
    return 0.5 * y @ alpha + factor.diagonal().log().sum() + 0.5 * len(y) * log_two_pi()


def median_distance(x: np.ndarray) -> float:
    """Median pairwise distance between fingerprints (1 when undefined)."""
    if len(x) < 2:
        return 1.0
    diff = x[:, None, :] - x[None, :, :]
    dist = np.sqrt((diff ** 2).sum(-1))[np.triu_indices(len(x), 1)]
    positive = dist[dist > 0]
    return float(np.median(positive)) if len(positive) else 1.0


def subsample(data: SubsetData, max_rows: int, rng: np.random.Generator) -> SubsetData:
    """A random subset of structures with at most ``max_rows`` observations."""
    per = data.rows // len(data.x)
    keep = max(2, max_rows // per)
    if keep >= len(data.x):
        return data
    idx = np.sort(rng.choice(len(data.x), size=keep, replace=False))
    return SubsetData(data.name, data.x[idx], data.jac[idx], data.energies[idx],
                      None if data.forces is None else data.forces[idx], data.prior_mean_eV)
