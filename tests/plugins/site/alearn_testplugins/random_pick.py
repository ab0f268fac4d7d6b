"""Selector ``random``: candidates drawn uniformly, without replacement, from the stage's seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from alearn.config.schema import option
from alearn.select.protocol import CandidatePool


class RandomPick:
    """``budget`` candidates at random (a baseline selector)."""

    @dataclass(frozen=True)
    class Params:
        """Uniformly random candidates."""

        kind: Literal["random"] = option("random", doc="selector")

    def __init__(self, params: Any) -> None:
        self.params = params

    def select(self, pool: CandidatePool, budget: int) -> list[int]:
        rng = np.random.default_rng(pool.seed)
        return [int(i) for i in rng.choice(len(pool), size=budget, replace=False)]
