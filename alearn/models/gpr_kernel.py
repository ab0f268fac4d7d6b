"""Squared-exponential kernel on structure fingerprints with energy and force observations.

The latent function is the energy ``E = f(x(R))`` of a structure with fingerprint ``x`` (length
D) and Jacobian ``J = dx/dR`` (D × 3n).  Forces are ``F = -Jᵀ ∇ₓf``.  With the kernel
``k(x, x') = w² exp(-½ Σ_d (x_d - x'_d)² / ℓ_d²)`` and scaled quantities ``z = x/ℓ``,
``Jz = J/ℓ`` (row d divided by ℓ_d), ``Δ = z_a - z_b``, the covariance blocks are::

    Cov(E_a, E_b) = k_ab
    Cov(E_a, F_b) = -k_ab · Jz_bᵀ Δ
    Cov(F_a, E_b) =  k_ab · Jz_aᵀ Δ
    Cov(F_a, F_b) =  k_ab · (Jz_aᵀ Jz_b - (Jz_aᵀ Δ)(Jz_bᵀ Δ)ᵀ)

i.e. ``K_EF = dk/dx' · J'`` and ``K_FF = Jᵀ d²k/dx dx' J'`` of the issue, with the sign of the
forces folded in.  Rows are laid out *energies first* (one per structure), then the forces of
every structure (3n each, structure-major, atom-major, xyz fastest).

:class:`EnergyForceKernel` is a ``gpytorch.kernels.Kernel``: it owns the hyperparameters (length
scale, optionally one per fingerprint component (ARD), and the output scale ``w²``) through
gpytorch's parameter and constraint machinery with a log transform, so the raw parameters are
the logarithms that the optimiser bounds.  The block functions below are plain torch and
differentiable, so the marginal likelihood's gradient comes from autograd.
"""

from __future__ import annotations

import math

import torch
from gpytorch.constraints import Positive
from gpytorch.kernels import Kernel


def _log_positive() -> Positive:
    return Positive(transform=torch.exp, inv_transform=torch.log)


class EnergyForceKernel(Kernel):
    """SE kernel through the fingerprint Jacobian; raw parameters are log(ℓ) and log(w²)."""

    has_lengthscale = True

    def __init__(self, n_dims: int, ard: bool = False) -> None:
        super().__init__(ard_num_dims=n_dims if ard else None,
                         lengthscale_constraint=_log_positive())
        self.n_dims = n_dims
        self.register_parameter("raw_outputscale", torch.nn.Parameter(torch.zeros(())))
        self.register_constraint("raw_outputscale", _log_positive())

    @property
    def outputscale(self) -> torch.Tensor:
        """``w²`` in eV²."""
        return self.raw_outputscale_constraint.transform(self.raw_outputscale)

    def scale(self, x: torch.Tensor, jac: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z = x/ℓ`` (N, D) and ``Jz = J/ℓ`` (N, D, 3n)."""
        inv = 1.0 / self.lengthscale.reshape(-1)
        return x * inv, jac * inv[:, None]

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False,
                last_dim_is_batch: bool = False, **params) -> torch.Tensor:
        """Energy–energy covariance of fingerprints (gpytorch's kernel interface)."""
        z1 = x1 / self.lengthscale.reshape(-1)
        z2 = x2 / self.lengthscale.reshape(-1)
        if diag:
            return self.outputscale * torch.exp(-0.5 * ((z1 - z2) ** 2).sum(-1))
        return energy_energy(z1, z2, self.outputscale)


def energy_energy(z1: torch.Tensor, z2: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """``k_ab`` for scaled fingerprints (N1, D), (N2, D)."""
    sq = (z1 * z1).sum(-1)[:, None] + (z2 * z2).sum(-1)[None, :] - 2.0 * z1 @ z2.T
    return w2 * torch.exp(-0.5 * sq.clamp_min(0.0))


def _projections(z1, jz1, z2, jz2) -> tuple[torch.Tensor, torch.Tensor]:
    """``P1[a,b] = Jz_aᵀ Δ_ab`` (N1, N2, 3n1) and ``P2[a,b] = Jz_bᵀ Δ_ab`` (N1, N2, 3n2)."""
    own1 = torch.einsum("adi,ad->ai", jz1, z1)
    p1 = own1[:, None, :] - torch.einsum("adi,bd->abi", jz1, z2)
    own2 = torch.einsum("bdj,bd->bj", jz2, z2)
    p2 = torch.einsum("bdj,ad->abj", jz2, z1) - own2[None, :, :]
    return p1, p2


def energy_force(k: torch.Tensor, z1, z2, jz2) -> torch.Tensor:
    """Cov(E_a, F_b) as (N1, N2·3n2)."""
    p2 = torch.einsum("bdj,ad->abj", jz2, z1) - torch.einsum("bdj,bd->bj", jz2, z2)[None]
    return (-k[..., None] * p2).reshape(k.shape[0], -1)


def force_force(k: torch.Tensor, z1, jz1, z2, jz2) -> torch.Tensor:
    """Cov(F_a, F_b) as (N1·3n1, N2·3n2)."""
    p1, p2 = _projections(z1, jz1, z2, jz2)
    gram = torch.einsum("adi,bdj->abij", jz1, jz2)
    block = k[..., None, None] * (gram - p1[..., :, None] * p2[..., None, :])
    n1, n2, m1, m2 = block.shape
    return block.permute(0, 2, 1, 3).reshape(n1 * m1, n2 * m2)


def full_covariance(kernel: EnergyForceKernel, x1, j1, x2, j2, forces1: bool = True,
                    forces2: bool = True) -> torch.Tensor:
    """The joint covariance of [energies, forces] of two sets of structures."""
    z1, jz1 = kernel.scale(x1, j1)
    z2, jz2 = kernel.scale(x2, j2)
    k = energy_energy(z1, z2, kernel.outputscale)
    rows = [[k]]
    if forces2:
        rows[0].append(energy_force(k, z1, z2, jz2))
    if forces1:
        fe = energy_force(k.T, z2, z1, jz1).T          # Cov(F_a, E_b) = Cov(E_b, F_a)ᵀ
        rows.append([fe] + ([force_force(k, z1, jz1, z2, jz2)] if forces2 else []))
    return torch.cat([torch.cat(r, dim=1) for r in rows], dim=0)


def mean_gradient(z_star: torch.Tensor, z_train: torch.Tensor, w2: torch.Tensor,
                  alpha_e: torch.Tensor, v: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean energy (minus prior) and its gradient w.r.t. ``z*``.

    With ``v_b = Jz_b α_F,b`` (N, D), ``m(z*) = Σ_b k_b (α_E,b - v_b·Δ_b)``, ``Δ_b = z* - z_b``:
    costs O(B·N·D) for B test structures — no force-block covariance is ever formed.
    """
    k = energy_energy(z_star, z_train, w2)                          # (B, N)
    delta = z_star[:, None, :] - z_train[None, :, :]                # (B, N, D)
    coef = alpha_e[None, :].expand_as(k)
    if v is not None:
        coef = coef - torch.einsum("bnd,nd->bn", delta, v)
    mean = (k * coef).sum(1)
    grad = -torch.einsum("bn,bnd->bd", k * coef, delta)
    if v is not None:
        grad = grad - k @ v
    return mean, grad


def log_two_pi() -> float:
    """log(2π), for the marginal likelihood."""
    return math.log(2.0 * math.pi)
