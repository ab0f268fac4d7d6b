"""The dispatcher: structures + calculator + profile → labels in the store.

:func:`label_structures` is the one entry point (used by ``alearn label`` and the campaign loop).
For every structure it derives the job directory (:mod:`alearn.label.jobs`); a calculation whose
``result.json`` exists is ingested without running, one with ``failed.json`` is reported as
failed, and the rest are submitted to the engine (:func:`alearn.label.runner.run_job`), at most
``max_concurrent`` at a time.  Results go into the store as they arrive; one failing calculation
never stops the others.  A ``CANCEL`` file in ``jobs_dir`` (:func:`request_cancel`) stops
submission, and running calculations kill their codes and return.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.faults import is_storage_fault, storage_problem
from alearn.data.gate import EnergyReference, GateLimits, label_problem
from alearn.data.records import Labels, Provenance, Source
from alearn.data.validation import problem
from alearn.label.engines import Engine
from alearn.label.jobs import JobDir, cancel_requested, job_hash, params_hash
from alearn.label.protocol import CalculationFailed, FailureKind
from alearn.label.runner import JobResult, JobTask, committed, controller_id, run_job

_WAIT_S = 0.25


class Status(str, enum.Enum):
    """The terminal state of one structure after :func:`label_structures`."""

    STORED = "stored"        #: labels are in the store
    FAILED = "failed"        #: the calculation failed terminally (kind and reason recorded)
    REJECTED = "rejected"    #: labels computed, but the store refused them (reason recorded)
    CANCELLED = "cancelled"  #: not finished because a cancel was requested


@dataclass(frozen=True)
class JobOutcome:
    """What happened to structure ``index``."""

    index: int
    job_hash: str
    status: Status
    row_id: int | None = None
    attempts: int = 0
    kind: FailureKind | None = None
    reason: str = ""
    reused: bool = False


@dataclass(frozen=True)
class LabelReport:
    """Per-structure outcomes (in input order) of one :func:`label_structures` call."""

    outcomes: tuple[JobOutcome, ...]
    elapsed_s: float

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def stored(self) -> int:
        return self.count(Status.STORED)

    @property
    def failures(self) -> tuple[JobOutcome, ...]:
        """Every outcome that did not end in the store."""
        return tuple(o for o in self.outcomes if o.status is not Status.STORED)

    @property
    def row_ids(self) -> tuple[int, ...]:
        return tuple(o.row_id for o in self.outcomes if o.row_id is not None)


Progress = Callable[[JobOutcome, int, int], None]


@dataclass(frozen=True)
class _Context:
    calculator: Any
    store: Any
    engine: Engine
    iteration: int
    subset: str | None
    jobs_dir: Path
    progress: Progress | None
    gate: GateLimits
    reference: EnergyReference | None


def label_structures(structures: Sequence[Atoms], calculator: Any, profile: Profile,
                     store: Any, *, engine: Engine, jobs_dir: str | Path, iteration: int = 0,
                     attempts: int = 3, timeout_s: float = 3600.0, max_concurrent: int = 1,
                     subset: str | None = None, progress: Progress | None = None,
                     gate: GateLimits | None = None, max_crashes: int = 3) -> LabelReport:
    """Label ``structures`` with ``calculator`` into ``store``; resumable and idempotent.

    ``engine`` comes from :func:`alearn.label.engines.make_engine`; ``progress(outcome, done,
    total)`` is called once per structure as it reaches a terminal state.  Labels pass the
    sanity gate ``gate`` (default: :class:`~alearn.data.gate.GateLimits` defaults) before the
    store: implausible ones end as ``FAILED`` with kind ``INVALID`` and the reason.  An attempt
    cut short by the death of this controller or of a worker is retried for free; a
    calculation that kills the process it runs in is failed after ``max_crashes`` such deaths
    (see :mod:`alearn.label.runner`).
    """
    start = time.monotonic()
    jobs_dir = Path(jobs_dir).resolve()
    jobs_dir.mkdir(parents=True, exist_ok=True)
    groups = _plan(structures, calculator)
    gate = gate if gate is not None else GateLimits()
    reference = _reference(store, calculator, set(groups), gate)
    ctx = _Context(calculator, store, engine, iteration, subset, jobs_dir, progress, gate, reference)
    me = controller_id()
    tasks = {h: JobTask(structures[idx[0]], calculator, profile, jobs_dir / h, jobs_dir,
                        attempts, timeout_s, me, max_crashes) for h, idx in groups.items()}
    outcomes: dict[int, JobOutcome] = {}
    pending: deque[str] = deque()
    for h, task in tasks.items():
        ready = committed(JobDir(task.job_dir))
        if ready is not None:
            _finish(ctx, task, ready, groups[h], outcomes, len(structures))
        else:
            pending.append(h)
    _drive(ctx, tasks, groups, pending, outcomes, max(1, max_concurrent), len(structures))
    ordered = tuple(outcomes[i] for i in range(len(structures)))
    return LabelReport(ordered, time.monotonic() - start)


def _reference(store: Any, calculator: Any, batch: set[str],
               gate: GateLimits) -> EnergyReference | None:
    """Energies the gate compares with: the calculator's stored results outside this batch —
    fixed for the whole call, so verdicts do not depend on the order results arrive in, nor on
    whether the call was interrupted and resumed."""
    if not gate.enabled or not hasattr(store, "energies"):
        return None
    rows = [r for r in store.energies(source=Source.REFERENCE, params_hash=params_hash(calculator))
            if r.job_hash not in batch]
    return EnergyReference(rows, gate.element_energies())


def _plan(structures: Sequence[Atoms], calculator: Any) -> dict[str, list[int]]:
    """Job hash → indices of the structures it labels (identical structures share one job)."""
    groups: dict[str, list[int]] = {}
    for index, atoms in enumerate(structures):
        groups.setdefault(job_hash(atoms, calculator), []).append(index)
    return groups


def _drive(ctx: _Context, tasks: dict[str, JobTask], groups: dict[str, list[int]],
           pending: deque[str], outcomes: dict[int, JobOutcome], limit: int, total: int) -> None:
    in_flight: dict[Any, str] = {}
    lost: dict[str, int] = {}
    while pending or in_flight:
        if cancel_requested(ctx.jobs_dir):
            _cancel_all(ctx, tasks, groups, pending, in_flight, outcomes, total)
            return
        while pending and len(in_flight) < limit:
            h = pending.popleft()
            future = ctx.engine.submit(run_job, tasks[h], key=f"alearn-label-{h}-{lost.get(h, 0)}")
            in_flight[future] = h
        for future in ctx.engine.wait(list(in_flight), _WAIT_S):
            h = in_flight.pop(future)
            result = _result_of(future, tasks[h], lost)
            if result is None:
                pending.append(h)  # the engine lost the task: submit it again
            else:
                _finish(ctx, tasks[h], result, groups[h], outcomes, total)


#: engine losses of one task (its worker died before the task could report) after which the
#: dispatcher gives up on it; each is a death from outside, which never uses the attempts
MAX_LOSSES = 1000


def _result_of(future: Any, task: JobTask, lost: dict[str, int]) -> JobResult | None:
    """The task's result; ``None`` to submit it again after the engine lost it."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connections, worker bugs
        if is_storage_fault(exc):  # the file system refused a job-directory write
            raise storage_problem(exc, task.job_dir) from None
        job = JobDir(task.job_dir)
        h = job.hash
        lost[h] = lost.get(h, 0) + 1
        done = committed(job)
        if done is not None:
            return done
        limit = MAX_LOSSES if _worker_lost(exc) else task.attempts
        if lost[h] <= limit:
            return None  # run_job settles the attempt the lost worker left behind
        used = sum(1 for r in job.records() if r.counts)
        failure = CalculationFailed(FailureKind.INFRASTRUCTURE,
                                    f"the engine lost the task {lost[h]} times; last: "
                                    f"{type(exc).__name__}: {exc}")
        job.write_failed(failure, used)
        return JobResult(h, "failed", attempts=used, kind=failure.kind, reason=failure.reason)


def _worker_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the worker running the task died or became unreachable (rather
    than the task raising): such a loss is retried for free."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"KilledWorker", "CommClosedError", "CancelledError",
                         "FutureCancelledError", "StreamClosedError"})


def _finish(ctx: _Context, task: JobTask, result: JobResult, indices: list[int],
            outcomes: dict[int, JobOutcome], total: int) -> None:
    outcome = _outcome(ctx, task, result, indices[0])
    for index in indices:
        outcomes[index] = JobOutcome(index, outcome.job_hash, outcome.status, outcome.row_id,
                                     outcome.attempts, outcome.kind, outcome.reason,
                                     outcome.reused or index != indices[0])
        if ctx.progress is not None:
            ctx.progress(outcomes[index], len(outcomes), total)


def _outcome(ctx: _Context, task: JobTask, result: JobResult, index: int) -> JobOutcome:
    h = result.job_hash
    if result.status == "cancelled":
        return JobOutcome(index, h, Status.CANCELLED, attempts=result.attempts)
    if result.status == "failed" or result.labels is None:
        return JobOutcome(index, h, Status.FAILED, attempts=result.attempts, kind=result.kind,
                          reason=result.reason)
    outcome = _store(ctx, task.atoms, result.labels, h, index, result.attempts)
    _record_row(JobDir(task.job_dir), outcome, ctx)
    return outcome


def _record_row(job: JobDir, outcome: JobOutcome, ctx: _Context) -> None:
    """What the store made of the result, in the job directory: the hint a lost store is
    rebuilt from (:mod:`alearn.data.rebuild`)."""
    recorded = job.row()
    if outcome.reused and recorded is not None and recorded.get("id") == outcome.row_id:
        return  # stored by an earlier call, which recorded its own iteration and subset
    if outcome.row_id is not None:
        data: dict[str, Any] = {"id": outcome.row_id, "iteration": ctx.iteration,
                                "subset": ctx.subset}
    else:
        data = {"refused": outcome.reason, "status": outcome.status.value}
    if recorded != data:
        job.write_row(data)


def _store(ctx: _Context, atoms: Atoms, labels: Labels, h: str, index: int,
           attempts: int) -> JobOutcome:
    stored = ctx.store.find_job(h) if hasattr(ctx.store, "find_job") else None
    if stored is not None:  # passed the gate when it was stored
        return JobOutcome(index, h, Status.STORED, row_id=stored, attempts=attempts, reused=True)
    malformed = problem(atoms, labels, getattr(ctx.store, "min_distance_A", 0.5))
    if malformed is not None:  # what the store refuses anyway comes first
        return JobOutcome(index, h, Status.REJECTED, attempts=attempts, reason=malformed)
    implausible = label_problem(atoms.numbers, labels, ctx.gate, ctx.reference)
    if implausible is not None:
        return JobOutcome(index, h, Status.FAILED, attempts=attempts, kind=FailureKind.INVALID,
                          reason=f"implausible labels: {implausible}")
    provenance = Provenance(Source.REFERENCE, iteration=ctx.iteration,
                            calculator=ctx.calculator.name, params_hash=params_hash(ctx.calculator),
                            job_hash=h, subset=ctx.subset)
    inserted = ctx.store.add(atoms.copy(), labels, provenance)
    reason = getattr(inserted, "reason", None)
    if reason is not None:
        return JobOutcome(index, h, Status.REJECTED, attempts=attempts, reason=str(reason))
    reused = not getattr(inserted, "new", True)
    return JobOutcome(index, h, Status.STORED, row_id=getattr(inserted, "id", None),
                      attempts=attempts, reused=reused)


def _cancel_all(ctx: _Context, tasks: dict[str, JobTask], groups: dict[str, list[int]],
                pending: deque[str], in_flight: dict[Any, str],
                outcomes: dict[int, JobOutcome], total: int) -> None:
    for future, h in in_flight.items():
        future.cancel()
        pending.append(h)
    for h in pending:
        job = JobDir(tasks[h].job_dir)
        result = committed(job) or JobResult(h, "cancelled", attempts=len(job.attempt_numbers()))
        _finish(ctx, tasks[h], result, groups[h], outcomes, total)
