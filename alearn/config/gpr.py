"""[model] kind "gpr" and [augment] kind "gpr" (GPR-ANN, Yeu et al. 2025)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alearn.config.schema import Invalid, option


def _check_bounds(key: str, bounds: tuple[float, ...]) -> None:
    if len(bounds) != 2 or not 0.0 < bounds[0] < bounds[1]:
        raise Invalid(key, f"found {list(bounds)}, expected [low, high] with 0 < low < high")


@dataclass(frozen=True)
class SoapConfig:
    """SOAP fingerprint parameters (DScribe), used when fingerprint = "soap"."""

    r_cut_A: float = option(5.0, doc="SOAP cutoff radius", unit="Å", gt=0.0)
    n_max: int = option(6, doc="number of radial basis functions", ge=1)
    l_max: int = option(4, doc="maximum degree of spherical harmonics", ge=0)
    sigma_A: float = option(1.0, doc="width of the atomic Gaussians", unit="Å", gt=0.0)
    periodic: bool = option(False, doc="treat structures as periodic (DScribe then differentiates numerically)")
    chunk: int = option(16, doc="structures per DScribe derivative call (bounds memory: n_atoms²·3·n_features each)", ge=1)


@dataclass(frozen=True)
class GprConfig:
    """Local Gaussian-process surrogates fitted on energies and forces."""

    kind: Literal["gpr"] = option("gpr", doc="surrogate type")
    fingerprint: Literal["inverse_distances", "soap", "cartesian"] = option(
        "inverse_distances", doc="structure fingerprint the kernel acts on; 'cartesian' (the paper's choice) is not rotation/translation invariant")
    soap: SoapConfig = option(factory=SoapConfig, doc="SOAP parameters (fingerprint = 'soap')")
    use_forces: bool = option(True, doc="fit forces as derivative observations (else energies only)")
    prior_mean: Literal["constant", "per_element"] = option(
        "constant", doc="prior mean energy: the subset's mean energy, or per-element energies fitted by least squares over all data")
    ard: bool = option(False, doc="one length scale per fingerprint component (automatic relevance determination)")
    max_rows: int = option(3000, doc="memory budget of one subset: structures × (1 + 3·atoms) observations; larger groups are split by k-means on fingerprints", ge=10)
    hyper_max_rows: int = option(800, doc="observations used to optimise the hyperparameters of a subset (a random sample of its structures)", ge=10)
    restarts: int = option(3, doc="optimiser starts for the marginal likelihood (the first from a heuristic guess)", ge=1)
    weight_eV: float | None = option(None, doc="fix the kernel weight w (k = w² exp(-|x-x'|²/2ℓ²)); unset = fitted", unit="eV", gt=0.0)
    length_scale: float | None = option(None, doc="fix the length scale ℓ in fingerprint units; unset = fitted", gt=0.0)
    energy_noise_eV: float | None = option(None, doc="fix the energy noise std; unset = fitted", unit="eV", gt=0.0)
    force_noise_eV_A: float | None = option(None, doc="fix the force noise std; unset = fitted", unit="eV/Å", gt=0.0)
    weight_bounds_eV: tuple[float, ...] = option((1e-3, 1e3), doc="bounds of w while fitting (log space)", unit="eV")
    length_scale_bounds: tuple[float, ...] = option(
        (1e-2, 1e2), doc="bounds of ℓ while fitting, as multiples of the median distance between the subset's fingerprints (log space)")
    energy_noise_bounds_eV: tuple[float, ...] = option((1e-5, 1.0), doc="bounds of the energy noise std while fitting (log space)", unit="eV")
    energy_noise_max_fraction: float = option(
        0.1, doc="while fitting, the energy noise std is also kept at or below this fraction of the standard deviation of the subset's energies (0: off, only energy_noise_bounds_eV). Without it the marginal likelihood, dominated by the 3n force rows per structure, can explain the energies as noise larger than their whole spread and fit the forces alone: energies eV off, forces fine (EC dimers, an LJ13 cluster; docs/gpr.md)", ge=0.0, le=10.0)
    force_noise_bounds_eV_A: tuple[float, ...] = option((1e-4, 1.0), doc="bounds of the force noise std while fitting (log space)", unit="eV/Å")

    def check(self) -> None:
        for key in ("weight_bounds_eV", "length_scale_bounds", "energy_noise_bounds_eV",
                    "force_noise_bounds_eV_A"):
            _check_bounds(key, getattr(self, key))
        if self.hyper_max_rows > self.max_rows:
            raise Invalid("hyper_max_rows", f"found {self.hyper_max_rows}, expected at most max_rows ({self.max_rows})")


@dataclass(frozen=True)
class GprAugmentConfig:
    """Synthetic energies from local GPR surrogates, gated by their uncertainty."""

    kind: Literal["gpr"] = option("gpr", doc="augmentation type")
    copies: int = option(16, doc="displaced copies per reference structure (M)", ge=1, le=10_000)
    delta_A: float = option(0.03, doc="standard deviation of the Gaussian displacements", unit="Å", gt=0.0)
    remove_rotation: bool = option(False, doc="also project out the rigid (infinitesimal) rotation of each displacement (the net translation is always removed)")
    gate: Literal["absolute", "relative"] = option(
        "absolute", doc="gate on the GP energy std in eV ('absolute', max_std_eV) or in multiples of the subset's fitted energy noise ('relative', max_std_relative)")
    max_std_eV: float = option(0.05, doc="copies with a larger GP energy std go to the reference instead (gate = 'absolute')", unit="eV", gt=0.0)
    max_std_relative: float = option(5.0, doc="copies whose energy std exceeds this multiple of the subset's energy noise go to the reference (gate = 'relative')", gt=0.0)
    model: GprConfig = option(factory=GprConfig, doc="the local GPR surrogates that label the copies")
