"""[explore] and [select]."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alearn.config.schema import Invalid, option


@dataclass(frozen=True)
class StageConfig:
    """One stage of the exploration schedule."""

    temperature_K: float = option(doc="thermostat temperature", unit="K", gt=0.0)
    steps: int = option(1000, doc="MD steps per walker", ge=1)
    iterations: int = option(1, doc="how many loop iterations this stage lasts", ge=1)


@dataclass(frozen=True)
class ExploreConfig:
    """MD walkers on the surrogate."""

    kind: Literal["md"] = option("md", doc="explorer type")
    timestep_fs: float = option(0.5, doc="MD time step", unit="fs", gt=0.0)
    walkers: int = option(4, doc="walkers per iteration", ge=1)
    stages: tuple[StageConfig, ...] = option(factory=lambda: (StageConfig(temperature_K=300.0),), doc="schedule of temperatures and steps")


@dataclass(frozen=True)
class TrustConfig:
    """Trust window on the uncertainty measure: [lo, hi)."""

    lo: float = option(0.05, doc="below: accurate", ge=0.0)
    hi: float = option(0.35, doc="at or above: failed (unphysical); between: candidate", gt=0.0)

    def check(self) -> None:
        if self.hi <= self.lo:
            raise Invalid("hi", f"found {self.hi}, expected a value greater than lo ({self.lo})")


@dataclass(frozen=True)
class SelectConfig:
    """Which explored structures go to the reference calculator."""

    measure: Literal["max_force_std", "energy_std_per_atom", "extrapolation"] = option("max_force_std", doc="uncertainty measure")
    trust: TrustConfig = option(factory=TrustConfig, doc="trust window")
    budget: int = option(20, doc="maximum reference calculations per iteration", ge=1, safe_to_change=True)
