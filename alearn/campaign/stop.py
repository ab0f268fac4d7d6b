"""Stop rules: the first rule that holds after an iteration ends the campaign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from alearn.campaign.records import IterationManifest
from alearn.config.loop import StopConfig


@dataclass(frozen=True)
class IterationFacts:
    """What the stop rules look at, for one committed iteration."""

    iteration: int
    accurate_ratio: float | None       # accurate / explored frames (None: no exploration)
    force_rmse_eV_A: float | None      # test force RMSE (None: no test data)
    reference_total: int               # reference calculations so far, campaign-wide

    @classmethod
    def from_manifest(cls, manifest: IterationManifest) -> "IterationFacts":
        counts = manifest.counts
        ratio = counts.accurate / counts.frames if counts.frames else None
        test = manifest.metrics.test
        return cls(iteration=manifest.iteration, accurate_ratio=ratio,
                   force_rmse_eV_A=None if test is None else test.force_rmse_eV_A,
                   reference_total=counts.reference_total)


def stop_reason(history: Sequence[IterationFacts], rules: StopConfig,
                elapsed_s: float) -> str | None:
    """Why the campaign stops after the last iteration of ``history``, or ``None``."""
    if not history or history[-1].iteration == 0:
        return None                     # iteration 0 (the initial data) never ends a campaign
    last = history[-1]
    checks = (_accurate(history, rules), _force(last, rules), _budget(last, rules),
              _iterations(last, rules), _walltime(elapsed_s, rules))
    return next((reason for reason in checks if reason is not None), None)


def _accurate(history: Sequence[IterationFacts], rules: StopConfig) -> str | None:
    if rules.accurate_ratio is None:
        return None
    recent = [h for h in history if h.iteration > 0][-rules.accurate_iterations:]
    if len(recent) < rules.accurate_iterations:
        return None
    if all(h.accurate_ratio is not None and h.accurate_ratio >= rules.accurate_ratio for h in recent):
        ratios = ", ".join(f"{h.accurate_ratio:.2f}" for h in recent)
        return (f"accurate ratio >= {rules.accurate_ratio} for {rules.accurate_iterations} "
                f"consecutive iterations ({ratios})")
    return None


def _force(last: IterationFacts, rules: StopConfig) -> str | None:
    target, value = rules.force_rmse_eV_A, last.force_rmse_eV_A
    if target is not None and value is not None and value <= target:
        return f"test force RMSE {value:.4f} eV/Å <= target {target} eV/Å"
    return None


def _budget(last: IterationFacts, rules: StopConfig) -> str | None:
    limit = rules.max_reference_calculations
    if limit is not None and last.reference_total >= limit:
        return f"reference calculations {last.reference_total} >= maximum {limit}"
    return None


def _iterations(last: IterationFacts, rules: StopConfig) -> str | None:
    if last.iteration >= rules.max_iterations:
        return f"maximum number of iterations reached ({rules.max_iterations})"
    return None


def _walltime(elapsed_s: float, rules: StopConfig) -> str | None:
    if rules.walltime_s is not None and elapsed_s >= rules.walltime_s:
        return f"wall time {elapsed_s:.0f} s >= limit {rules.walltime_s:.0f} s"
    return None
