"""The worker side of the dispatcher: run one calculation to a terminal state in its job directory.

:func:`run_job` is what the engines execute (in a Dask worker or in this process).  It is
idempotent and restartable: it looks at the job directory first (a committed ``result.json`` or
``failed.json`` is returned as is), counts the attempts already made (interrupted ones count, so
the limit survives crashes and restarts), replays the calculator's recovery recipe over the
physics failures on record, and then makes new attempts until one succeeds or none are left.
"""

from __future__ import annotations

import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.records import Labels
from alearn.errors import UserError
from alearn.label.jobs import (JobDir, cancel_requested, job_identity, labels_from_json,
                               labels_to_json)
from alearn.label.process import run_command
from alearn.label.protocol import STDERR, STDOUT, CalculationFailed, FailureKind

CALCULATOR_PICKLE = "calculator.pkl"


@dataclass(frozen=True)
class JobTask:
    """Everything a worker needs to run one calculation (picklable)."""

    atoms: Atoms
    calculator: Any
    profile: Profile
    job_dir: Path
    jobs_dir: Path
    attempts: int
    timeout_s: float


JobStatus = Literal["done", "failed", "cancelled"]


@dataclass(frozen=True)
class JobResult:
    """The terminal state of one calculation as the worker left it."""

    job_hash: str
    status: JobStatus
    labels: Labels | None = None
    attempts: int = 0
    kind: FailureKind | None = None
    reason: str = ""


def run_job(task: JobTask) -> JobResult:
    """Run ``task`` until it is done, has failed terminally, or is cancelled."""
    job = JobDir(Path(task.job_dir))
    job.write_job(job_identity(task.atoms, task.calculator))
    while True:
        final = committed(job)
        if final is not None:
            return final
        if cancel_requested(task.jobs_dir):
            return JobResult(job.hash, "cancelled", attempts=_used(job))
        calculator = _calculator_for_next_attempt(task, job)
        if calculator is None:
            continue  # a terminal failure was just written
        number, workdir = job.new_attempt()
        _attempt(task, calculator, job, number, workdir)


def committed(job: JobDir) -> JobResult | None:
    """The terminal state on disk, if any (``result.json`` wins over ``failed.json``)."""
    result = job.result()
    if result is not None:
        return JobResult(job.hash, "done", labels_from_json(result["labels"]),
                         attempts=int(result.get("attempt", 0)))
    failed = job.failed()
    if failed is not None:
        return JobResult(job.hash, "failed", attempts=int(failed.get("attempts", 0)),
                         kind=FailureKind(failed["kind"]), reason=failed["reason"])
    return None


def _used(job: JobDir) -> int:
    return sum(1 for record in job.records() if record.counts)


def _calculator_for_next_attempt(task: JobTask, job: JobDir) -> Any | None:
    """The calculator of the next attempt, or ``None`` after writing a terminal failure."""
    records = [r for r in job.records() if r.counts]
    last = records[-1].failure() if records else None
    if last is not None and last.kind is FailureKind.INVALID:
        job.write_failed(last, len(records))
        return None
    if len(records) >= task.attempts:
        reason = last.reason if last is not None else "no attempt succeeded"
        job.write_failed(CalculationFailed(
            last.kind if last is not None else FailureKind.INFRASTRUCTURE,
            f"{reason} (all {task.attempts} attempts used)"), len(records))
        return None
    calculator = task.calculator
    for record in records:
        failure = record.failure()
        if failure is not None and failure.kind is FailureKind.PHYSICS:
            calculator = calculator.recover(failure, record.number)
            if calculator is None:
                job.write_failed(CalculationFailed(
                    FailureKind.PHYSICS, f"{failure.reason} (no recovery left after attempt "
                    f"{record.number})"), len(records))
                return None
    return calculator


def _attempt(task: JobTask, calculator: Any, job: JobDir, number: int, workdir: Path) -> None:
    start = time.monotonic()
    try:
        labels = _compute(task, calculator, workdir)
        labels = validate_labels(labels, len(task.atoms))
    except _Cancelled:
        job.write_outcome(number, "cancelled", elapsed_s=time.monotonic() - start)
        return
    except CalculationFailed as failure:
        job.write_outcome(number, "failed", elapsed_s=time.monotonic() - start, failure=failure)
        return
    except Exception as exc:  # noqa: BLE001 - a crashing code must not stop the others
        failure = _classify_exception(exc)
        job.write_outcome(number, "failed", elapsed_s=time.monotonic() - start, failure=failure)
        return
    elapsed = time.monotonic() - start
    job.write_outcome(number, "ok", elapsed_s=elapsed)
    job.write_result({"labels": labels_to_json(labels), "attempt": number,
                      "calculator": calculator.name, "version": calculator.version,
                      "elapsed_s": round(elapsed, 6)})


class _Cancelled(Exception):
    """The attempt was stopped because a cancel file appeared."""


def _classify_exception(exc: Exception) -> CalculationFailed:
    """An exception escaping a plugin: a UserError is terminal (invalid), SCF non-convergence is
    physics, the rest infrastructure (retried)."""
    if isinstance(exc, UserError):  # a configuration problem: running again cannot help
        return CalculationFailed(FailureKind.INVALID, str(exc))
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if "converge" in lowered and "not" in lowered or "no convergence" in lowered:
        return CalculationFailed(FailureKind.PHYSICS, text)
    return CalculationFailed(FailureKind.INFRASTRUCTURE, text)


def _compute(task: JobTask, calculator: Any, workdir: Path) -> Labels:
    calculator.write_input(task.atoms, workdir, task.profile)
    argv = calculator.command(task.profile)
    if argv is None and not task.profile.isolate:
        calculator.run_in_process(workdir)
        return calculator.read_results(workdir)
    if argv is None:
        (workdir / CALCULATOR_PICKLE).write_bytes(pickle.dumps(calculator))
        argv = [sys.executable, "-m", "alearn.label.child", str(workdir)]
    argv = _with_modules(argv, task.profile)
    limit = task.profile.walltime_s or task.timeout_s
    outcome = run_command(argv, workdir, stdout=workdir / STDOUT, stderr=workdir / STDERR,
                          env=task.profile.environment(), timeout_s=limit,
                          should_stop=lambda: cancel_requested(task.jobs_dir))
    if outcome.cancelled:
        raise _Cancelled()
    if outcome.timed_out:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                f"timed out after {limit:g} s; the process group was killed")
    if outcome.returncode != 0:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                f"'{argv[0]}' exited with status {outcome.returncode}"
                                + _tail(workdir / STDERR))
    return calculator.read_results(workdir)


def _with_modules(argv: list[str], profile: Profile) -> list[str]:
    if not profile.modules:
        return argv
    script = f"module load {' '.join(profile.modules)} && exec \"$@\""
    return ["bash", "-lc", script, "alearn-modules", *argv]


def _tail(path: Path, limit: int = 300) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return ""
    return f"; stderr: ...{text[-limit:]}" if text else ""


def validate_labels(labels: Labels, n_atoms: int) -> Labels:
    """Reject non-finite or wrongly shaped labels as :attr:`FailureKind.INVALID`."""
    energy = float(labels.energy)
    if not np.isfinite(energy):
        raise CalculationFailed(FailureKind.INVALID, f"energy is not finite ({energy})")
    forces = None if labels.forces is None else np.asarray(labels.forces, dtype=float)
    if forces is not None:
        if forces.shape != (n_atoms, 3):
            raise CalculationFailed(FailureKind.INVALID, f"forces have shape {forces.shape}, "
                                    f"expected ({n_atoms}, 3)")
        if not np.all(np.isfinite(forces)):
            bad = int(np.sum(~np.isfinite(forces)))
            raise CalculationFailed(FailureKind.INVALID, f"{bad} force components are not finite")
    stress = None if labels.stress is None else _voigt(np.asarray(labels.stress, dtype=float))
    if stress is not None and not np.all(np.isfinite(stress)):
        raise CalculationFailed(FailureKind.INVALID, "stress is not finite")
    return Labels(energy=energy, forces=forces, stress=stress, extra=dict(labels.extra))


def _voigt(stress: np.ndarray) -> np.ndarray:
    if stress.shape == (3, 3):
        return stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    if stress.shape != (6,):
        raise CalculationFailed(FailureKind.INVALID, f"stress has shape {stress.shape}, "
                                "expected (6,) or (3, 3)")
    return stress
