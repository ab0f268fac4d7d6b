"""Stop rules: the first rule that holds after an iteration ends the campaign."""

from __future__ import annotations

import math
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
    validation_force_rmse_eV_A: float | None = None   # on the validation set (None: none yet)
    #: (atoms, force RMSE eV/Å) of every validation frame so far, in the order drawn (None:
    #: not recorded; the accuracy rule then reads ``validation_force_rmse_eV_A``)
    validation_frames: tuple[tuple[int, float], ...] | None = None

    @classmethod
    def from_manifest(cls, manifest: IterationManifest) -> "IterationFacts":
        counts = manifest.counts
        ratio = counts.accurate / counts.frames if counts.frames else None
        test, held = manifest.metrics.test, manifest.metrics.validation
        frames = manifest.metrics.validation_frames
        return cls(iteration=manifest.iteration, accurate_ratio=ratio,
                   force_rmse_eV_A=None if test is None else test.force_rmse_eV_A,
                   reference_total=counts.reference_total,
                   validation_force_rmse_eV_A=None if held is None else held.force_rmse_eV_A,
                   validation_frames=None if frames is None else tuple(
                       (int(f.atoms), float(f.force_rmse_eV_A)) for f in frames
                       if f.force_rmse_eV_A is not None))


def stop_reason(history: Sequence[IterationFacts], rules: StopConfig,
                elapsed_s: float, target_eV_A: float | None = None) -> str | None:
    """Why the campaign stops after the last iteration of ``history``, or ``None``;
    ``target_eV_A``: ``[select] target_force_error_eV_A`` (its accuracy rule applies)."""
    if not history or history[-1].iteration == 0:
        return None                     # iteration 0 (the initial data) never ends a campaign
    last = history[-1]
    checks = (_target(history, rules, target_eV_A), _accurate(history, rules), _force(last, rules), _budget(last, rules),
              _iterations(last, rules), _walltime(elapsed_s, rules))
    return next((reason for reason in checks if reason is not None), None)


def recent_validation_rmse(history: Sequence[IterationFacts], index: int,
                           window: int) -> tuple[float | None, int | None]:
    """(force RMSE, frames) of ``history[index]``'s model on the validation frames drawn in
    the last ``window`` iterations up to it (``[stop] validation_window``): the frames beyond
    the set that the iteration ``window`` iterations earlier had (none before iteration 1), so
    frames drawn from an early, poor exploration cannot keep a later model from converging.
    ``window`` 0 or no per-frame record: the whole set's RMSE (frames None); no frame drawn
    in the window: (None, 0)."""
    last = history[index]
    if window <= 0 or last.validation_frames is None:
        return last.validation_force_rmse_eV_A, None
    before = [h for h in history[:index] if h.iteration <= last.iteration - window]
    size = len(before[-1].validation_frames or ()) if before else 0
    recent = last.validation_frames[size:]
    atoms = sum(n for n, _ in recent)
    if not atoms:
        return None, 0
    return float(math.sqrt(sum(n * e * e for n, e in recent) / atoms)), len(recent)


def _target(history: Sequence[IterationFacts], rules: StopConfig,
            target: float | None) -> str | None:
    """Converged in the user's units: validation force RMSE <= target (on the frames drawn in
    the last ``validation_window`` iterations, :func:`recent_validation_rmse`) and at least
    ``target_accurate_ratio`` of the explored frames predicted to meet it, for
    ``accurate_iterations`` consecutive iterations."""
    if target is None:
        return None
    indices = [k for k, h in enumerate(history) if h.iteration > 0][-rules.accurate_iterations:]
    if len(indices) < rules.accurate_iterations:
        return None
    scored = [(history[k], *recent_validation_rmse(history, k, rules.validation_window))
              for k in indices]
    if all(rmse is not None and rmse <= target and h.accurate_ratio is not None
           and h.accurate_ratio >= rules.target_accurate_ratio for h, rmse, _ in scored):
        values = ", ".join(f"{rmse:.3f}" for _, rmse, _ in scored)
        ratios = ", ".join(f"{h.accurate_ratio:.2f}" for h, _, _ in scored)
        frames = [n for _, _, n in scored]
        where = ("the whole validation set" if any(n is None for n in frames) else
                 f"the validation frames of the last {rules.validation_window} iterations "
                 f"({', '.join(str(n) for n in frames)} frames)")
        return (f"converged: validation force RMSE <= target {target} eV/Å ({values}, on "
                f"{where}) and accurate ratio >= {rules.target_accurate_ratio} ({ratios}) for "
                f"{rules.accurate_iterations} consecutive iterations")
    return None


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
