"""Batch selectors in gradient-feature space (``alearn.selectors``): ``maxdet`` and ``lcmd``.

Both compute the candidates' structure gradient features (:mod:`alearn.select.gradient_features`,
the sum of the atomic rows of every committee member) and those of the training structures,
transform them by the training posterior (so |ψ|² is the Bayesian-linear-regression variance
given the training set) and pick the batch with :func:`alearn.select.batch.max_det` (the most
informative and mutually diverse batch) or :func:`alearn.select.batch.lcmd` (the farthest
point of the largest cluster around training points and points taken).  They need the exploring
committee (``pool.surrogate()``) and its training structures (``pool.training()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from alearn.config.schema import option
from alearn.errors import UserError
from alearn.select.protocol import CandidatePool


def posterior_features(pool: CandidatePool, features: str, ridge: float,
                       sketch_dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """ψ of the candidates and of the training structures (training posterior transform)."""
    from alearn.select import gradient_features as gf

    model = pool.surrogate()
    if not hasattr(model, "networks"):
        raise UserError("the selectors 'maxdet' and 'lcmd' need a committee surrogate (gradient "
                        f"features of its networks); got {type(model).__name__}")
    training = list(pool.training())
    if not training:
        raise UserError("the selectors 'maxdet' and 'lcmd' need the training structures of the "
                        "exploring model (CandidatePool.training)")
    opts = {"kind": features, "dim": sketch_dim}
    train = gf.gradient_features(model, [r.atoms for r in training], **opts).per_structure()
    cand = gf.gradient_features(model, pool.structures(), **opts).per_structure()
    posterior = gf.FeaturePosterior.fit(train, ridge)
    return posterior.transform(cand), posterior.transform(train)


@dataclass(frozen=True)
class _BatchParams:
    features: Literal["last_layer", "sketch"] = option("last_layer", doc="gradient features: last_layer (output-layer gradients) or sketch (all weights, randomly projected)")
    ridge: float = option(1e-3, doc="ridge λ of the training posterior, relative to the mean diagonal of ΦᵀΦ", gt=0.0)
    sketch_dim: int = option(32, doc="sketch: projected values per element and member", ge=1)


class MaxDet:
    """Greedy maximum-determinant batch in the training-posterior kernel."""

    @dataclass(frozen=True)
    class Params(_BatchParams):
        """MaxDet (Zaverkin et al. 2022): the candidate of largest posterior variance, the kernel conditioned on it, repeated."""

        kind: Literal["maxdet"] = option("maxdet", doc="selector")
        noise: float = option(1.0, doc="observation noise of a selected frame, in the posterior's noise units (1: as the training frames)", gt=0.0)

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> Sequence[int]:
        from alearn.select.batch import max_det

        psi, _ = posterior_features(pool, self.params.features, self.params.ridge, self.params.sketch_dim)
        return max_det(psi, budget, self.params.noise)


class LargestClusterMaxDistance:
    """LCMD: grow the batch from the largest cluster around training points and points taken."""

    @dataclass(frozen=True)
    class Params(_BatchParams):
        """LCMD (Holzmüller et al. 2023): the farthest candidate of the largest cluster, clusters around training points and picks."""

        kind: Literal["lcmd"] = option("lcmd", doc="selector")

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> Sequence[int]:
        from alearn.select.batch import lcmd

        psi, train = posterior_features(pool, self.params.features, self.params.ridge, self.params.sketch_dim)
        return lcmd(psi, train, budget)


__all__ = ["LargestClusterMaxDistance", "MaxDet", "posterior_features"]
