"""The explorer ``biased_md`` (``alearn.explorers``): the ``md`` walkers on the committee with the
uncertainty bias of :mod:`alearn.explore.bias` (hyperactive learning; bias stress for cells).

Everything of ``md`` applies (stages, monitors, rollbacks); the walkers evaluate
E − τ·σ_E with the HAL strength τ = τ_r·⟨|F|⟩/⟨|∇σ_E|⟩ (``bias_strength`` = τ_r, ramped in over
``bias_ramp_steps`` evaluations).  Frames are judged by the unbiased measure and labelled by
the unbiased reference: the bias only steers the walkers towards what the committee does not
know.  Needs a committee of at least two members.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from alearn.config.explore import ExploreConfig
from alearn.config.schema import option
from alearn.explore.md import MdExplorer
from alearn.explore.protocol import ExploreRequest
from alearn.explore.walker import CalculatorSpec


@dataclass(frozen=True)
class BiasedMdConfig(ExploreConfig):
    """MD walkers on the committee biased towards its uncertainty (E − τ·σ_E)."""

    kind: Literal["biased_md"] = option("biased_md", doc="explorer (kind = a registered alearn.explorers plugin)")
    bias_strength: float = option(0.2, doc="τ_r: the bias force as a fraction of the physical force (HAL: τ = τ_r·⟨|F|⟩/⟨|∇σ_E|⟩, running means over the walker)", ge=0.0)
    bias_ramp_steps: int = option(50, doc="τ_r ramps linearly from 0 over this many evaluations of each walker", ge=0)


class BiasedMdExplorer(MdExplorer):
    """``md`` walkers on the uncertainty-biased committee."""

    Params: ClassVar[type] = BiasedMdConfig

    def calculator(self, request: ExploreRequest) -> CalculatorSpec:
        from alearn.explore.bias import BiasedSurrogate

        options = {k: v for k, v in request.calculator_options.items() if k in ("dtype", "skin_A")}
        return BiasedSurrogate(str(Path(request.model).resolve()), self.params.bias_strength,
                               self.params.bias_ramp_steps, **options)


__all__ = ["BiasedMdConfig", "BiasedMdExplorer"]
