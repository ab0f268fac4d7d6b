"""[explore] (the ``md`` explorer's schema) and [select]: MD walkers, monitors, trust window,
selection.  The uncertainty measure and the selector are plugins (``[select] measure``,
``[select] selector``), their schemas owned by the plugins (:mod:`alearn.registry`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from alearn.config.schema import Invalid, option
from alearn.registry import MEASURES, SELECTORS, default_params, kinds_of

Method = Literal["langevin", "bussi", "nose_hoover", "npt", "nve", "displace", "strain"]


@dataclass(frozen=True)
class StageConfig:
    """One stage of the exploration schedule (as DP-GEN users know them)."""

    temperature_K: float = option(doc="thermostat temperature (initial velocities for nve)", unit="K", gt=0.0)
    steps: int = option(1000, doc="MD steps per walker (samples per walker for displace/strain)", ge=1, le=100_000_000)
    iterations: int = option(1, doc="how many loop iterations this stage lasts (the last stage repeats)", ge=1)
    method: Method = option("langevin", doc="langevin, bussi (stochastic velocity rescaling), nose_hoover (chain NVT), npt (MTK barostat, periodic cells), nve (velocity Verlet); displace / strain: random displacements / random cell strains of the start structure instead of MD")
    pressure_GPa: float = option(0.0, doc="external pressure of method 'npt'", unit="GPa")
    friction_per_fs: float = option(0.01, doc="Langevin friction coefficient", unit="1/fs", gt=0.0)
    thermostat_time_fs: float = option(50.0, doc="relaxation time of the bussi / nose_hoover / npt thermostat", unit="fs", gt=0.0)
    barostat_time_fs: float = option(500.0, doc="relaxation time of the npt barostat", unit="fs", gt=0.0)
    barostat: Literal["isotropic", "full"] = option("isotropic", doc="npt: isotropic volume changes or a fully flexible cell")
    displacement_A: float = option(0.05, doc="displace/strain: standard deviation of the random Gaussian atomic displacements", unit="Å", ge=0.0)
    max_strain: float = option(0.05, doc="strain: largest magnitude of each symmetric strain component (uniform in [-max, max])", ge=0.0, lt=0.5)


@dataclass(frozen=True)
class MonitorConfig:
    """What each walker checks every ``every_steps`` MD steps, and what it does about it."""

    every_steps: int = option(10, doc="monitor (and store a frame) every n MD steps", ge=1)
    min_distance_factor: float = option(0.6, doc="two atoms closer than this fraction of the sum of their covalent radii are insane", gt=0.0, le=2.0)
    pair_min_distance_A: dict[str, float] = option(factory=dict, doc="per-pair overrides of the minimum distance, keyed 'O-H', 'Si-Si' (order does not matter)", unit="Å")
    near_contact_factor: float = option(1.15, doc="frames whose closest pair is below this multiple of its limit count as near contacts (they seed the close-contact set)", ge=1.0)
    max_force_eV_A: float = option(50.0, doc="a larger atomic force is insane", unit="eV/Å", gt=0.0)
    max_temperature_factor: float = option(3.0, doc="a kinetic temperature above this multiple of the stage temperature is a runaway", gt=1.0)
    energy_spike_eV_per_atom: float = option(0.5, doc="a potential-energy jump larger than this between monitored frames is insane", unit="eV/atom", gt=0.0)
    on_failure: Literal["stop", "rollback"] = option("rollback", doc="at or above trust.hi, or insane: stop the walker, or roll back to its last trusted frame with fresh velocities")
    max_rollbacks: int = option(3, doc="a walker that failed more often than this stops", ge=0)
    rescale_above_factor: float = option(0.0, doc="robust early exploration: whenever the kinetic temperature exceeds this multiple of the (ramped) stage temperature, rescale the velocities to it, so the errors of a poor surrogate cannot heat a walker up (0: off; MD only)", ge=0.0)
    ramp_steps: int = option(0, doc="with rescale_above_factor: the stage temperature the rescaling aims at ramps from 20 % to 100 % over the first this many steps after every (re)start", ge=0)

    def check(self) -> None:
        from ase.data import atomic_numbers

        if 0.0 < self.rescale_above_factor <= 1.0:
            raise Invalid("rescale_above_factor", f"found {self.rescale_above_factor}, expected 0 (off) or a factor above 1")

        for key, value in self.pair_min_distance_A.items():
            parts = key.split("-")
            if len(parts) != 2 or any(p not in atomic_numbers for p in parts):
                raise Invalid(f"pair_min_distance_A.{key}", "is not two element symbols joined by '-', e.g. 'O-H'")
            if value <= 0:
                raise Invalid(f"pair_min_distance_A.{key}", f"found {value}, expected a distance greater than 0 Å")


@dataclass(frozen=True)
class ExploreConfig:
    """MD walkers on the surrogate."""

    kind: Literal["md"] = option("md", doc="explorer (kind = a registered alearn.explorers plugin)")
    timestep_fs: float = option(0.5, doc="MD time step", unit="fs", gt=0.0)
    walkers: int = option(4, doc="walkers per iteration (start structures are used round-robin)", ge=1, le=100_000)
    stages: tuple[StageConfig, ...] = option(factory=lambda: (StageConfig(temperature_K=300.0),), doc="schedule of temperatures, pressures and steps")
    monitor: MonitorConfig = option(factory=MonitorConfig, doc="monitors attached to each walker")

    def check(self) -> None:
        if not self.stages:
            raise Invalid("stages", "is empty, expected at least one [[explore.stages]] table")


@dataclass(frozen=True)
class TrustConfig:
    """Trust window on the uncertainty measure: [lo, hi)."""

    lo: float = option(0.05, doc="below: accurate (unit of the measure)", ge=0.0)
    hi: float = option(0.35, doc="at or above: failed (unphysical); between: candidate", gt=0.0)

    def check(self) -> None:
        if self.hi <= self.lo:
            raise Invalid("hi", f"found {self.hi}, expected a value greater than lo ({self.lo})")


@dataclass(frozen=True)
class FragmentConfig:
    """Cut clusters around uncertain atoms of large periodic systems (Herbold & Behler 2023)."""

    enabled: bool = option(False, doc="label fragments instead of whole structures")
    radius_A: float = option(6.5, doc="fragment radius R_frag; at least the descriptor cutoff so the centre atom's environment is complete", unit="Å", gt=0.0)
    cutoff_A: float = option(6.5, doc="descriptor cutoff that must lie inside the fragment around its centre", unit="Å", gt=0.0)
    whole_molecules: bool = option(True, doc="take every molecule (connected component of the covalent bond graph) with an atom within radius_A in whole, unwrapped; atoms of infinite networks (frameworks, metals, covalent solids) are cut spherically, their cut bonds capped only with saturate = true")
    saturate: bool = option(False, doc="cap cut covalent bonds of heavy atoms with hydrogen and drop hydrogens whose bonds are all cut (outside the centre's cutoff sphere)")
    bond_factor: float = option(1.2, doc="a pair closer than this multiple of the sum of covalent radii is a covalent bond", gt=0.0)
    min_atoms: int = option(100, doc="only structures with more atoms than this are fragmented", ge=1)

    def check(self) -> None:
        if self.enabled and self.radius_A < self.cutoff_A:
            raise Invalid("radius_A", f"found {self.radius_A}, expected at least cutoff_A ({self.cutoff_A})")


@dataclass(frozen=True)
class CloseContactConfig:
    """A correction set of compressed structures for the repulsive wall (Shimamura et al. 2019)."""

    enabled: bool = option(True, doc="generate close-contact structures when walkers (nearly) die from close contacts")
    margin_A: float = option(0.1, doc="target shortest distance = shortest distance of that pair in the data minus this, never below the pair's [explore.monitor] sanity limit (pairs already there get no structure)", unit="Å", gt=0.0)
    per_pair: int = option(2, doc="structures generated per element pair", ge=1)
    max_compression: float = option(0.25, doc="largest homogeneous compression of lengths before pinching the closest pair", ge=0.0, lt=0.6)
    relax_steps: int = option(10, doc="steps of constrained relaxation on the surrogate (0: none)", ge=0)


@dataclass(frozen=True)
class SelectConfig:
    """Which explored structures go to the reference calculator."""

    measure: Any = option(factory=default_params(MEASURES, "max_force_std"), doc="uncertainty measure (a registered alearn.measures plugin; measure = \"name\" is short for a table with kind = \"name\"): max_force_std (eV/Å), relative_force_std (σ_F/(|F|+floor)), energy_std_per_atom (eV/atom), gpr_std (GP energy std, eV), extrapolation (descriptor excess in training ranges), combined (max of terms divided by their scales)", kinds=kinds_of(MEASURES))
    target_force_error_eV_A: float | None = option(None, doc="the force error you need (per-component RMSE, as every reported force_rmse_eV_A): each iteration calibrates the measure to true force errors on the validation set and sets lo = target, hi = hi_factor × max(target, validation force RMSE), so accurate frames are those predicted to meet it; excludes trust and adaptive", unit="eV/Å", gt=0.0)
    hi_factor: float = option(5.0, doc="with target_force_error_eV_A: hi = this × max(target, the exploring model's validation force RMSE) (above: the model is too far off, by its own standard, to trust the walker or to learn from the frame; following the model's error keeps an early model learning: with hi = 5 × target fixed, Cu13 at target 0.157 eV/Å labelled no frame in 13 of 20 iterations, benchmarks/README.md)", gt=1.0, le=1000.0)
    trust: TrustConfig = option(factory=TrustConfig, doc="trust window in the measure's raw unit (when no target_force_error_eV_A is given)")
    budget: int = option(20, doc="maximum reference calculations per iteration", ge=1, safe_to_change=True)
    adaptive: Literal["off", "top_n", "calibrated"] = option("off", doc="adaptive lower level: off; top_n (the budget's most uncertain frames below hi are candidates even under lo); calibrated (lo from earlier iterations' predicted spread vs true error, set before exploration)")
    target_error: float = option(0.1, doc="calibrated: the true error (unit of the measure's force/energy) at which a structure should be labelled", gt=0.0)
    min_frame_gap: int = option(20, doc="time decorrelation: selected frames of one walker are at least this many MD steps apart", ge=0)
    selector: Any = option(factory=default_params(SELECTORS, "fps"), doc="which of more candidates than the budget are labelled (a registered alearn.selectors plugin; selector = \"name\" is short for a table): fps (farthest-point sampling in the structure descriptor space from the most uncertain frame), kmeans (the most uncertain frame of each of budget k-means clusters: representative rather than extreme picks), none (most uncertain first)", kinds=kinds_of(SELECTORS))
    descriptor_cutoff_A: float = option(5.0, doc="cutoff of the per-structure inverse-distance histogram used by the selectors and the explanations", unit="Å", gt=0.0)
    fragments: FragmentConfig = option(factory=FragmentConfig, doc="fragments of large systems")
    close_contacts: CloseContactConfig = option(factory=CloseContactConfig, doc="close-contact correction set")

    def check(self) -> None:
        if self.target_force_error_eV_A is not None:
            if self.trust != TrustConfig():
                raise Invalid("trust", "and target_force_error_eV_A exclude each other: the target "
                              "sets the window (lo = target, hi = hi_factor × target); give one of them")
            if self.adaptive != "off":
                raise Invalid("adaptive", f"found {self.adaptive!r}, expected 'off' with "
                              "target_force_error_eV_A (the target calibrates the window itself)")
        if self.adaptive != "calibrated":
            return
        from alearn import registry

        measure = registry.plugins(MEASURES).plugin(self.measure.kind)
        if getattr(measure, "calibrated_against", None) is None:
            calibrated = [k for k, cls in registry.plugins(MEASURES).loadable().items()
                          if getattr(cls, "calibrated_against", None)]
            raise Invalid("adaptive", f"'calibrated' needs a measure with a true-error counterpart "
                          f"({', '.join(calibrated)}), found measure = {self.measure.kind!r}")
