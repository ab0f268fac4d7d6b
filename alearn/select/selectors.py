"""The first-party selectors (``alearn.selectors``, ``[select] selector``): which of more
candidates than the budget go to the reference.

``fps`` — farthest-point sampling in the structure-fingerprint space, starting at the most
uncertain frame (the outskirts of the candidates); ``kmeans`` — the most uncertain frame of
each of ``budget`` k-means clusters of that space (representative rather than extreme picks);
``none`` — the most uncertain first.  See :mod:`alearn.select.diversity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from alearn.config.schema import option
from alearn.select.diversity import farthest_point_sampling, representatives
from alearn.select.protocol import CandidatePool


class FarthestPoint:
    """Farthest-point sampling in fingerprint space from the most uncertain frame."""

    @dataclass(frozen=True)
    class Params:
        """Farthest-point sampling: the most uncertain frame, then the frames farthest from those taken."""

        kind: Literal["fps"] = option("fps", doc="selector")

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> list[int]:
        return farthest_point_sampling(pool.fingerprints(), budget, first=int(np.argmax(pool.values)))


class KMeansRepresentatives:
    """The most uncertain frame of each of ``budget`` k-means clusters in fingerprint space."""

    @dataclass(frozen=True)
    class Params:
        """k-means representatives: the most uncertain frame of each of budget clusters."""

        kind: Literal["kmeans"] = option("kmeans", doc="selector")

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> list[int]:
        return representatives(pool.fingerprints(), pool.values, budget)


class MostUncertain:
    """The ``budget`` most uncertain candidates (no diversity)."""

    @dataclass(frozen=True)
    class Params:
        """No diversity: the most uncertain candidates first."""

        kind: Literal["none"] = option("none", doc="selector")

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> list[int]:
        return [int(m) for m in np.argsort(-pool.values, kind="stable")[:budget]]


__all__ = ["FarthestPoint", "KMeansRepresentatives", "MostUncertain"]
