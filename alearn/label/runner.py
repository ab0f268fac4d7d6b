"""The worker side of the dispatcher: run one calculation to a terminal state in its job directory.

:func:`run_job` is what the engines execute (in a Dask worker or in this process).  It is
idempotent and restartable: it looks at the job directory first (a committed ``result.json`` or
``failed.json`` is returned as is), settles every attempt that never recorded an outcome,
counts the attempts already made (so the limits survive crashes and restarts), replays the
calculator's recovery recipe over the physics failures on record, and then makes new attempts
until one succeeds or none are left.

**Interrupted is not failed.**  Each attempt records who ran it (``started.json``: the
controller, the process that hosted the calculation, whether the calculation had a process of
its own).  An attempt that never recorded an outcome is settled as

* ``interrupted`` — free, retried — when its calculation had a process of its own (an external
  code, or an isolated in-process one: only its host's death explains the missing outcome), or
  when the controller that started it is not the one running now (the controller died and took
  its workers with it), or when it died before its calculation started;
* ``crashed`` — counted against ``max_crashes``, apart from ``attempts`` — when the calculation
  ran inside its host (``isolate = false``) and the host died while the controller lived, or
  the host was the controller itself: the calculation may have killed it.  An isolated
  calculation whose own process dies (a signal, exiting without a result) is ``crashed`` too.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.faults import is_storage_fault
from alearn.data.records import Labels
from alearn.errors import UserError
from alearn.label.jobs import (JobDir, cancel_requested, job_identity, labels_from_json,
                               labels_to_json, read_json)
from alearn.label.isolated import ERROR_FILE, RAISED, run_isolated
from alearn.label.process import run_command
from alearn.label.protocol import STDERR, STDOUT, CalculationFailed, FailureKind


def controller_id() -> str:
    """This process as a controller: host, pid and start time (pids are reused)."""
    try:
        ticks = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        ticks = "0"
    return f"{socket.gethostname()}:{os.getpid()}:{ticks}"


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
    controller: str = ""
    max_crashes: int = 3


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
    job.write_job(job_identity(task.atoms, task.calculator), task.atoms)
    while True:
        final = committed(job)
        if final is not None:
            return final
        if cancel_requested(task.jobs_dir):
            return JobResult(job.hash, "cancelled", attempts=_used(job))
        settle_unfinished(job, task.controller)
        calculator = _calculator_for_next_attempt(task, job)
        if calculator is None:
            continue  # a terminal failure was just written
        number, workdir = job.new_attempt()
        _attempt(task, calculator, job, number, workdir)


def committed(job: JobDir) -> JobResult | None:
    """The terminal state on disk, if any (``result.json`` wins over ``failed.json``)."""
    result = job.result()
    if result is not None:  # attempts: those that counted (kills and cancels cost none)
        return JobResult(job.hash, "done", labels_from_json(result["labels"]),
                         attempts=_used(job))
    failed = job.failed()
    if failed is not None:
        return JobResult(job.hash, "failed", attempts=int(failed.get("attempts", 0)),
                         kind=FailureKind(failed["kind"]), reason=failed["reason"])
    return None


def _used(job: JobDir) -> int:
    return sum(1 for record in job.records() if record.counts)


def settle_unfinished(job: JobDir, controller: str) -> None:
    """Record how every attempt without an outcome ended (see module docstring)."""
    for record in job.records():
        if record.status == "running":
            status, reason = _unfinished(job.started(record.number), controller)
            job.write_outcome(record.number, status, elapsed_s=0.0, reason=reason)


def _unfinished(started: dict[str, Any] | None, controller: str) -> tuple[str, str]:
    if started is None:
        return "interrupted", "interrupted before its calculation started"
    if started.get("isolated"):
        return "interrupted", ("its worker or controller died; the calculation, in a process of "
                               "its own, died with it")
    ran_in_controller = started.get("host_pid") == started.get("controller_pid")
    if started.get("controller") != controller and not ran_in_controller:
        return "interrupted", "the controller that started it died, and its workers with it"
    if ran_in_controller:
        return "crashed", ("the controller it ran inside died during the calculation "
                           "(isolate = false: the calculation may have killed it)")
    return "crashed", ("its worker died during the calculation while the controller lived "
                       "(isolate = false: the calculation may have killed it)")


def _calculator_for_next_attempt(task: JobTask, job: JobDir) -> Any | None:
    """The calculator of the next attempt, or ``None`` after writing a terminal failure."""
    history = job.records()
    records = [r for r in history if r.counts]
    crashes = [r for r in history if r.crashed]
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
    if len(crashes) >= task.max_crashes:
        job.write_failed(CalculationFailed(
            FailureKind.INFRASTRUCTURE, f"the calculation crashed the process it ran in "
            f"{len(crashes)} times (max_crashes = {task.max_crashes}); last: {crashes[-1].reason}"),
            len(records))
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
    argv = calculator.command(task.profile)
    isolated = argv is not None or bool(task.profile.isolate)
    job.write_started(number, {"controller": task.controller, "host_pid": os.getpid(),
                               "controller_pid": _pid_of(task.controller), "isolated": isolated})
    try:
        labels = _compute(task, calculator, workdir, argv)
        labels = validate_labels(labels, len(task.atoms))
    except _Cancelled:
        job.write_outcome(number, "cancelled", elapsed_s=time.monotonic() - start)
        return
    except _Crashed as crash:
        job.write_outcome(number, "crashed", elapsed_s=time.monotonic() - start,
                          reason=crash.reason)
        return
    except CalculationFailed as failure:
        job.write_outcome(number, "failed", elapsed_s=time.monotonic() - start, failure=failure)
        return
    except Exception as exc:  # noqa: BLE001 - a crashing code must not stop the others
        if is_storage_fault(exc):
            raise  # a full or read-only disk is no fault of the calculation: stop, resume later
        failure = _classify_exception(exc)
        job.write_outcome(number, "failed", elapsed_s=time.monotonic() - start, failure=failure)
        return
    elapsed = time.monotonic() - start
    job.write_outcome(number, "ok", elapsed_s=elapsed)
    job.write_result({"labels": labels_to_json(labels), "attempt": number,
                      "calculator": calculator.name, "version": calculator.version,
                      "elapsed_s": round(elapsed, 6)})


def _pid_of(controller: str) -> int | None:
    parts = controller.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


class _Cancelled(Exception):
    """The attempt was stopped because a cancel file appeared."""


class _Crashed(Exception):
    """The calculation's own process died (a signal, or an exit without a result)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _classify_exception(exc: Exception) -> CalculationFailed:
    """An exception escaping a plugin: a UserError is terminal (invalid), SCF non-convergence is
    physics, the rest infrastructure (retried)."""
    if isinstance(exc, UserError):  # a configuration problem: running again cannot help
        return CalculationFailed(FailureKind.INVALID, str(exc))
    return _classify_text(f"{type(exc).__name__}: {exc}")


def _classify_text(text: str) -> CalculationFailed:
    lowered = text.lower()
    if "converge" in lowered and "not" in lowered or "no convergence" in lowered:
        return CalculationFailed(FailureKind.PHYSICS, text)
    return CalculationFailed(FailureKind.INFRASTRUCTURE, text)


def _compute(task: JobTask, calculator: Any, workdir: Path, argv: list[str] | None) -> Labels:
    calculator.write_input(task.atoms, workdir, task.profile)
    if argv is None and not task.profile.isolate:
        calculator.run_in_process(workdir)
        return calculator.read_results(workdir)
    limit = task.profile.walltime_s or task.timeout_s
    stop = lambda: cancel_requested(task.jobs_dir)  # noqa: E731
    if argv is None:
        _run_isolated(calculator, workdir, task, limit, stop)
        return calculator.read_results(workdir)
    argv = _with_modules(argv, task.profile)
    outcome = run_command(argv, workdir, stdout=workdir / STDOUT, stderr=workdir / STDERR,
                          env=task.profile.environment(), timeout_s=limit, should_stop=stop)
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


def _run_isolated(calculator: Any, workdir: Path, task: JobTask, limit: float,
                  stop: Any) -> None:
    """An in-process calculator in a process of its own (:mod:`alearn.label.isolated`)."""
    outcome = run_isolated(calculator, workdir, env=task.profile.environment(), timeout_s=limit,
                           should_stop=stop)
    if outcome.cancelled:
        raise _Cancelled()
    if outcome.timed_out:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                f"timed out after {limit:g} s; the calculation's process was killed")
    if outcome.status == RAISED and (workdir / ERROR_FILE).is_file():
        raise _raised(read_json(workdir / ERROR_FILE) or {})
    if outcome.status != 0:
        raise _Crashed(_death(outcome.status) + _tail(workdir / STDERR))


def _raised(error: dict[str, Any]) -> CalculationFailed:
    """The failure of an exception raised inside the isolated calculation."""
    if error.get("kind"):
        return CalculationFailed(error["kind"], error.get("message", ""))
    text = f"{error.get('type', 'Exception')}: {error.get('message', '')}"
    if error.get("user_error"):
        return CalculationFailed(FailureKind.INVALID, error.get("message", text))
    return _classify_text(text)


def _death(status: int | None) -> str:
    if status is not None and status < 0:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else str(-status)
        hint = " (also what the out-of-memory killer sends)" if -status == signal.SIGKILL else ""
        return f"the calculation's process was killed by signal {-status} ({name}){hint}"
    return f"the calculation's process exited with status {status} without a result"


def _with_modules(argv: list[str], profile: Profile) -> list[str]:
    """``argv`` run after ``module load`` of the profile's modules.  The module names are
    validated (:class:`~alearn.config.dispatch.Profile`) and quoted, and the code's argv is
    passed as arguments (``"$@"``), never spliced into the shell text."""
    if not profile.modules:
        return argv
    script = f"module load {shlex.join(profile.modules)} && exec \"$@\""
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
