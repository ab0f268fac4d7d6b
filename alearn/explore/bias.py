"""Uncertainty-biased MD: walkers on E_bias = E − τ·σ_E (van der Oord et al. 2023, "hyperactive
learning"; Zaverkin et al. 2024 for the bias stress).

σ_E is the committee's energy spread (population std over K members).  With member energies
E_k, forces F_k and stresses s_k (means Ē, F̄, s̄):

    ∇σ_E = −1/(Kσ) Σ_k (E_k − Ē)(F_k − F̄),  so  F_bias = F̄ + τ∇σ_E
    s_bias = s̄ − τ/(Kσ) Σ_k (E_k − Ē)(s_k − s̄)       (stress = (1/V) ∂E/∂ε)

The bias pushes a walker towards configurations the committee disagrees on (rare events,
transitions) without knowing a collective variable.  The strength follows HAL:
τ = τ_r · ⟨|F̄_i|⟩ / ⟨|∇_i σ_E|⟩, running means over the walker's evaluations so far, so τ_r is
the bias force as a fraction of the physical one; τ_r ramps linearly from 0 over the first
``ramp_steps`` evaluations.  The bias only steers: frames chosen from biased walkers are
labelled by the unbiased reference, and ``results`` keep the unbiased mean forces in
``forces_unbiased`` (``energy`` is the unbiased committee mean; ``bias_energy`` = −τσ_E).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from alearn.models.calculator import SurrogateCalculator
from alearn.models.committee import CommitteeEvaluator, voigt
from alearn.models.protocol import PointResult


def bias_terms(energies: np.ndarray, forces: np.ndarray, stresses: np.ndarray | None,
               eps: float = 1e-12) -> tuple[float, np.ndarray, np.ndarray | None]:
    """σ_E, ∇σ_E (N, 3) and (1/V)∂σ_E/∂ε (Voigt, or None) from members' energies (K,),
    forces (K, N, 3) and stresses (K, 6)."""
    dev = energies - energies.mean()
    k = len(energies)
    sigma = float(np.sqrt(np.mean(dev ** 2)))
    denom = k * max(sigma, eps)
    grad = -np.einsum("k,kij->ij", dev, forces - forces.mean(axis=0)) / denom
    dstress = None
    if stresses is not None:
        dstress = np.einsum("k,kj->j", dev, stresses - stresses.mean(axis=0)) / denom
    return sigma, grad, dstress


class BiasedEvaluator(CommitteeEvaluator):
    """The committee's one-structure evaluation with the uncertainty bias of the module
    docstring (the point evaluator behind :class:`~alearn.models.calculator.SurrogateCalculator`)."""

    def __init__(self, committee: Any, *, strength: float = 0.1, ramp_steps: int = 0,
                 **options: Any) -> None:
        super().__init__(committee, **options)
        self.strength = float(strength)
        self.ramp_steps = int(ramp_steps)
        self.evaluations = 0
        self._force_sum = 0.0
        self._bias_sum = 0.0

    def tau(self) -> float:
        """Current τ (eV per eV of σ_E): ramped τ_r × ⟨|F|⟩ / ⟨|∇σ|⟩."""
        if self._bias_sum <= 0.0:
            return 0.0
        ramp = 1.0 if self.ramp_steps <= 0 else min(1.0, self.evaluations / self.ramp_steps)
        return self.strength * ramp * self._force_sum / self._bias_sum

    def __call__(self, atoms: Any, *, stress: bool) -> PointResult:
        graph = self._graph(atoms)
        c = self.committee
        pos = torch.as_tensor(atoms.positions, dtype=c.dtype, device=c.device)
        out = c.evaluate_fast(graph, pos, stress=stress)
        energies = out.energy[:, 0].detach().cpu().numpy().astype(np.float64)
        forces = out.forces.detach().cpu().numpy().astype(np.float64)
        stresses = voigt(out.stress[:, 0].detach().cpu().numpy().astype(np.float64)) if stress else None
        mean_f = forces.mean(axis=0)
        sigma, grad, dstress = bias_terms(energies, forces, stresses)
        self.evaluations += 1
        self._force_sum += float(np.linalg.norm(mean_f, axis=1).mean())
        self._bias_sum += float(np.linalg.norm(grad, axis=1).mean())
        tau = self.tau()
        dev = np.sqrt(((forces - mean_f) ** 2).sum(axis=2).mean(axis=0))
        count, distance = c.extrapolation(graph, out.features.detach())
        extra = {"energy_std_per_atom": sigma / len(atoms), "extrapolation": count.astype(int),
                 "extrapolation_distance": distance.astype(np.float64),
                 "energies_members": energies, "forces_unbiased": mean_f,
                 "bias_energy": -tau * sigma, "bias_strength": tau}
        stress_mean = stress_std = None
        if stresses is not None:
            stress_mean, stress_std = stresses.mean(axis=0) - tau * dstress, stresses.std(axis=0)
        return PointResult(float(energies.mean()), mean_f + tau * grad, sigma, dev,
                           stress_mean, stress_std, extra)


class _Biased:
    """What :class:`SurrogateCalculator` needs of a surrogate: an ``evaluator()``."""

    def __init__(self, committee: Any, **options: Any) -> None:
        self.committee, self.options = committee, options

    def evaluator(self) -> BiasedEvaluator:
        return BiasedEvaluator(self.committee, **self.options)


def biased_calculator(committee: Any, *, strength: float = 0.1, ramp_steps: int = 0,
                      **options: Any) -> SurrogateCalculator:
    """The committee's ASE calculator with the uncertainty bias (``options``: evaluator
    options, e.g. ``dtype``, ``skin_A``); ``calc.evaluate`` is the :class:`BiasedEvaluator`."""
    calc = SurrogateCalculator(_Biased(committee, strength=strength, ramp_steps=ramp_steps, **options))
    calc.surrogate = committee
    return calc


@dataclass(frozen=True)
class BiasedSurrogate:
    """A picklable calculator factory for walkers (``CalculatorSpec``): the committee in
    ``model_dir`` with the uncertainty bias (``strength`` τ_r, ``ramp_steps``)."""

    model_dir: str
    strength: float = 0.1
    ramp_steps: int = 0
    dtype: str = "float64"
    skin_A: float = 1.0

    def __call__(self) -> SurrogateCalculator:
        from alearn.models import load

        committee = load(Path(self.model_dir))
        if committee.members < 2:
            from alearn.errors import UserError

            raise UserError("uncertainty-biased MD needs a committee of at least 2 members "
                            f"(the model in {self.model_dir} has {committee.members})")
        return biased_calculator(committee, strength=self.strength, ramp_steps=self.ramp_steps,
                                 dtype=self.dtype, skin_A=self.skin_A)


__all__ = ["BiasedEvaluator", "BiasedSurrogate", "bias_terms", "biased_calculator"]
