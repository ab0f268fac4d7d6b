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
from alearn.select.measures import Measure


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
class MonitorSpec:
    """Everything a walker's monitor needs (picklable: travels to the worker)."""

    measure: Measure
    lo: float
    hi: float
    every_steps: int = 10
    limits: PairLimits = PairLimits()
    near_contact_factor: float = 1.15
    max_force_eV_A: float = 50.0
    max_temperature_factor: float = 3.0
    energy_spike_eV_per_atom: float = 0.5
    on_failure: str = "rollback"
    max_rollbacks: int = 3

    @classmethod
    def from_config(cls, explore_cfg: Any, select_cfg: Any, lo: float | None = None) -> "MonitorSpec":
        """From ``[explore.monitor]`` and ``[select]`` (``lo`` overrides the trust window's)."""
        from alearn.select.measures import make_measure

        mon = explore_cfg.monitor
        return cls(
            measure=make_measure(select_cfg),
            lo=select_cfg.trust.lo if lo is None else lo, hi=select_cfg.trust.hi,
            every_steps=mon.every_steps,
            limits=PairLimits.from_config(mon.min_distance_factor, mon.pair_min_distance_A),
            near_contact_factor=mon.near_contact_factor, max_force_eV_A=mon.max_force_eV_A,
            max_temperature_factor=mon.max_temperature_factor,
            energy_spike_eV_per_atom=mon.energy_spike_eV_per_atom,
            on_failure=mon.on_failure, max_rollbacks=mon.max_rollbacks)


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

    def __init__(self, spec: MonitorSpec, numbers: np.ndarray) -> None:
        self.spec = spec
        self.search_A = spec.limits.max_limit(numbers) * spec.near_contact_factor
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
        got = self.spec.measure.evaluate(results, atoms.numbers)
        pair = closest_pair(atoms, self.spec.limits, self.search_A)
        reasons = (self._contact(atoms, pair) + self._force(results)
                   + self._temperature(temperature_K, target_K) + self._spike(atoms, results))
        self.previous_energy = float(results["energy"])
        if not reasons and got.value >= self.spec.hi:
            reasons_failed = (f"{self.spec.measure.kind} {got.value:.4g} at or above the upper "
                              f"trust level {self.spec.hi:g}",)
        else:
            reasons_failed = ()
        ratio = pair.ratio if pair is not None else float("inf")
        return Check(self._status(got.value, reasons), got.value, got.per_atom,
                     reasons + reasons_failed, pair,
                     ratio, ratio < self.spec.near_contact_factor)

    def _status(self, value: float, reasons: tuple[str, ...]) -> FrameStatus:
        if reasons or not np.isfinite(value):
            return FrameStatus.INSANE
        if value >= self.spec.hi:
            return FrameStatus.FAILED
        return FrameStatus.CANDIDATE if value >= self.spec.lo else FrameStatus.ACCURATE

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
        if fmax <= self.spec.max_force_eV_A:
            return ()
        return (f"force {fmax:.1f} eV/Å above {self.spec.max_force_eV_A} eV/Å",)

    def _temperature(self, temperature_K: float | None, target_K: float | None) -> tuple[str, ...]:
        if temperature_K is None or target_K is None:
            return ()
        if temperature_K <= self.spec.max_temperature_factor * target_K:
            return ()
        return (f"temperature runaway: {temperature_K:.0f} K above "
                f"{self.spec.max_temperature_factor:g} × {target_K:g} K",)

    def _spike(self, atoms: Atoms, results: Mapping[str, Any]) -> tuple[str, ...]:
        if self.previous_energy is None:
            return ()
        jump = abs(float(results["energy"]) - self.previous_energy) / max(len(atoms), 1)
        if jump <= self.spec.energy_spike_eV_per_atom:
            return ()
        return (f"energy spike: {jump:.3f} eV/atom between monitored frames "
                f"(limit {self.spec.energy_spike_eV_per_atom} eV/atom)",)


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
