"""Monitors attached to a walker: the uncertainty measure against the trust window, and sanity
checks (non-finite numbers, close contacts, maximum force, temperature runaway, energy spike).

:class:`Monitor` is fed one observation at a time (``observe``) and answers with a
:class:`Check`: the frame's status and why.  It keeps only the previous energy (for the spike
check), so it can be driven by scripted trajectories in tests exactly as by MD.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from alearn.explore.sanity import ClosestPair, PairLimits, closest_pair
from alearn.config.explore import MonitorConfig


class FrameStatus(str, enum.Enum):
    """Verdict on one frame.  ``insane`` frames count as failed in the trust-window counts."""

    ACCURATE = "accurate"
    CANDIDATE = "candidate"
    FAILED = "failed"
    INSANE = "insane"

    @property
    def code(self) -> int:
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> "FrameStatus":
        return _STATUSES[int(code)]


_STATUSES = (FrameStatus.ACCURATE, FrameStatus.CANDIDATE, FrameStatus.FAILED, FrameStatus.INSANE)
_CODES = {status: k for k, status in enumerate(_STATUSES)}


@dataclass(frozen=True)
class TrustWindow:
    """The trust window [lo, hi) on the uncertainty measure, read once per iteration: below
    ``lo`` a frame is accurate, from ``hi`` on it failed, in between it is a candidate."""

    lo: float
    hi: float

    def status(self, value: float) -> "FrameStatus":
        """The class of a sane frame whose measure is ``value``."""
        if not np.isfinite(value):
            return FrameStatus.INSANE
        if value >= self.hi:
            return FrameStatus.FAILED
        return FrameStatus.CANDIDATE if value >= self.lo else FrameStatus.ACCURATE


@dataclass(frozen=True)
class MonitorSpec:
    """Everything a walker's monitor needs (picklable: travels to the worker): the measure, the
    iteration's trust window, the ``[explore.monitor]`` settings and the pair limits they give."""

    measure: Any                  # an alearn.select.protocol.UncertaintyMeasure
    window: TrustWindow
    config: MonitorConfig = MonitorConfig()

    @classmethod
    def from_config(cls, config: MonitorConfig, measure: Any, window: TrustWindow) -> "MonitorSpec":
        return cls(measure, window, config)

    @property
    def limits(self) -> PairLimits:
        return PairLimits.from_config(self.config.min_distance_factor,
                                      self.config.pair_min_distance_A)

    @property
    def lo(self) -> float:
        return self.window.lo

    @property
    def hi(self) -> float:
        return self.window.hi


@dataclass(frozen=True)
class Check:
    """The monitor's verdict on one frame."""

    status: FrameStatus
    measure: float
    per_atom: np.ndarray | None
    reasons: tuple[str, ...]
    closest: ClosestPair | None
    contact_ratio: float          # closest distance / its limit (inf when no pair in range)
    near_contact: bool = False    # contact_ratio below the near-contact factor


class Monitor:
    """Stateful monitor of one walker (remembers the previous energy)."""

    def __init__(self, spec: MonitorSpec, numbers: np.ndarray, surrogate: Any = None) -> None:
        self.spec, self.config, self.limits = spec, spec.config, spec.limits
        self.surrogate = surrogate
        self.search_A = self.limits.max_limit(numbers) * self.config.near_contact_factor
        self.previous_energy: float | None = None

    def reset(self, energy: float | None = None) -> None:
        """Forget the energy history (after a rollback)."""
        self.previous_energy = energy

    def observe(self, atoms: Atoms, results: Mapping[str, Any],
                temperature_K: float | None = None, target_K: float | None = None) -> Check:
        """Judge the frame ``atoms`` with the calculator ``results`` computed at it."""
        reasons = self._finite(atoms, results)
        if reasons:
            return Check(FrameStatus.INSANE, float("nan"), None, reasons, None, float("inf"))
        got = self.spec.measure.evaluate(atoms, results, self.surrogate)
        pair = closest_pair(atoms, self.limits, self.search_A)
        reasons = (self._contact(atoms, pair) + self._force(results)
                   + self._temperature(temperature_K, target_K) + self._spike(atoms, results))
        self.previous_energy = float(results["energy"])
        if not reasons and got.value >= self.spec.hi:
            reasons_failed = (f"{self.spec.measure.params.kind} {got.value:.4g} at or above the "
                              f"upper trust level {self.spec.hi:g}",)
        else:
            reasons_failed = ()
        ratio = pair.ratio if pair is not None else float("inf")
        return Check(self._status(got.value, reasons), got.value, got.per_atom,
                     reasons + reasons_failed, pair,
                     ratio, ratio < self.config.near_contact_factor)

    def _status(self, value: float, reasons: tuple[str, ...]) -> FrameStatus:
        return FrameStatus.INSANE if reasons else self.spec.window.status(value)

    @staticmethod
    def _finite(atoms: Atoms, results: Mapping[str, Any]) -> tuple[str, ...]:
        arrays = {"positions": atoms.positions, "energy": results.get("energy", np.nan),
                  "forces": results.get("forces", np.nan)}
        return tuple(f"non-finite {name}" for name, value in arrays.items()
                     if not np.all(np.isfinite(value)))

    def _contact(self, atoms: Atoms, pair: ClosestPair | None) -> tuple[str, ...]:
        if pair is None or pair.ratio >= 1.0:
            return ()
        a, b = (chemical_symbols[atoms.numbers[k]] for k in (pair.i, pair.j))
        limit = pair.distance_A / pair.ratio
        return (f"close contact: {a}{pair.i}–{b}{pair.j} at {pair.distance_A:.3f} Å, "
                f"below the {a}–{b} limit {limit:.3f} Å",)

    def _force(self, results: Mapping[str, Any]) -> tuple[str, ...]:
        fmax = float(np.linalg.norm(np.asarray(results["forces"]).reshape(-1, 3), axis=1).max(initial=0.0))
        if fmax <= self.config.max_force_eV_A:
            return ()
        return (f"force {fmax:.1f} eV/Å above {self.config.max_force_eV_A} eV/Å",)

    def _temperature(self, temperature_K: float | None, target_K: float | None) -> tuple[str, ...]:
        if temperature_K is None or target_K is None:
            return ()
        if temperature_K <= self.config.max_temperature_factor * target_K:
            return ()
        return (f"temperature runaway: {temperature_K:.0f} K above "
                f"{self.config.max_temperature_factor:g} × {target_K:g} K",)

    def _spike(self, atoms: Atoms, results: Mapping[str, Any]) -> tuple[str, ...]:
        if self.previous_energy is None:
            return ()
        jump = abs(float(results["energy"]) - self.previous_energy) / max(len(atoms), 1)
        if jump <= self.config.energy_spike_eV_per_atom:
            return ()
        return (f"energy spike: {jump:.3f} eV/atom between monitored frames "
                f"(limit {self.config.energy_spike_eV_per_atom} eV/atom)",)


@dataclass(frozen=True)
class Counts:
    """Trust-window counts: accurate / candidate / failed (``failed`` includes ``insane``)."""

    accurate: int = 0
    candidate: int = 0
    failed: int = 0
    insane: int = 0

    @classmethod
    def of(cls, codes: np.ndarray) -> "Counts":
        codes = np.asarray(codes, dtype=np.int64)
        got = {status: int(np.sum(codes == status.code)) for status in FrameStatus}
        return cls(got[FrameStatus.ACCURATE], got[FrameStatus.CANDIDATE],
                   got[FrameStatus.FAILED] + got[FrameStatus.INSANE], got[FrameStatus.INSANE])

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.accurate + other.accurate, self.candidate + other.candidate,
                      self.failed + other.failed, self.insane + other.insane)

    @property
    def total(self) -> int:
        return self.accurate + self.candidate + self.failed
