"""[model] kind "gpr" and [augment] kind "gpr" (GPR-ANN, Yeu et al. 2025)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alearn.config.schema import option


@dataclass(frozen=True)
class GprConfig:
    """Local Gaussian-process surrogates fitted on energies and forces."""

    kind: Literal["gpr"] = option("gpr", doc="surrogate type")
    fingerprint: Literal["inverse_distances", "soap", "cartesian"] = option("inverse_distances", doc="structure fingerprint the kernel acts on")


@dataclass(frozen=True)
class GprAugmentConfig:
    """Synthetic energies from local GPR surrogates, gated by their uncertainty."""

    kind: Literal["gpr"] = option("gpr", doc="augmentation type")
    copies: int = option(16, doc="displaced copies per reference structure (M)", ge=1)
    delta_A: float = option(0.03, doc="standard deviation of the Gaussian displacements", unit="Å", gt=0.0)
    max_std_eV: float = option(0.05, doc="copies with a larger GP energy std go to the reference instead", unit="eV", gt=0.0)
