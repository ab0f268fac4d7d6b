"""[descriptor], [model] kind "committee", [train] and [augment] kind "taylor"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alearn.config.schema import Invalid, option


@dataclass(frozen=True)
class DescriptorConfig:
    """Chebyshev descriptor of atomic environments (Artrith, Urban, Ceder 2017)."""

    kind: Literal["chebyshev"] = option("chebyshev", doc="descriptor type")
    radial_cutoff_A: float = option(6.5, doc="cutoff of the radial expansion", unit="Å", gt=0.0)
    angular_cutoff_A: float = option(4.0, doc="cutoff of the angular expansion (0: no angular terms)", unit="Å", ge=0.0)
    radial_order: int = option(18, doc="highest Chebyshev order of the radial expansion (N_rad)", ge=0)
    angular_order: int = option(4, doc="highest Chebyshev order of the angular expansion (N_ang)", ge=0)

    def check(self) -> None:
        if self.angular_cutoff_A > self.radial_cutoff_A:
            raise Invalid("angular_cutoff_A", f"found {self.angular_cutoff_A}, expected at most radial_cutoff_A ({self.radial_cutoff_A})")


@dataclass(frozen=True)
class CommitteeConfig:
    """A committee of Behler–Parrinello atomic neural networks."""

    kind: Literal["committee"] = option("committee", doc="surrogate type")
    members: int = option(4, doc="number of networks in the committee", ge=1)
    hidden: tuple[int, ...] | Literal["auto"] = option("auto", doc="hidden layer widths, or 'auto' to scale capacity with the training-set size")
    activation: Literal["tanh", "softplus", "silu"] = option("softplus", doc="activation function of the hidden layers")


@dataclass(frozen=True)
class TrainConfig:
    """How the networks are trained."""

    epochs: int = option(500, doc="maximum number of training epochs", ge=1)
    force_weight: float = option(0.0, doc="weight α of the force term in the loss (0: energy-only training)", ge=0.0, le=1.0)
    learning_rate: float = option(1e-3, doc="optimiser learning rate", gt=0.0)
    device: Literal["cpu", "cuda"] = option("cpu", doc="where training runs")


@dataclass(frozen=True)
class TaylorConfig:
    """Taylor-expansion force augmentation (Cooper et al. 2020)."""

    kind: Literal["taylor"] = option("taylor", doc="augmentation type")
    strategy: Literal["A", "B"] = option("B", doc="A: one atom ±δ along x, y, z; B: all atoms, |δ_i| ≤ δmax")
    multiple: int = option(24, doc="structures generated per reference structure (a)", ge=1)
    delta_A: float = option(0.01, doc="displacement δ (A) or maximum displacement δmax (B)", unit="Å", gt=0.0)
