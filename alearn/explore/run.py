"""Run the walkers of one iteration through an engine and collect an :class:`ExplorationResult`.

The md explorer (:mod:`alearn.explore.md`) calls::

    plan = plan_walkers(explore_cfg, iteration, measure, window)
    result = run_walkers(starts, plan, model_dir, engine, seed, out_dir)

(:func:`walker_plan` builds the plan from ``[explore]`` and ``[select]`` directly, for the
stand-alone ``alearn explore`` and for tests.)

``engine`` is anything with ``submit(fn, *args) -> Future`` (a ``concurrent.futures``
executor, the Dask engine of :mod:`alearn.label`).  ``out_dir`` receives one
``walker_NNN.npz`` per walker and ``index.json`` (written last, atomically) describing them;
:meth:`ExplorationResult.load` reads a finished exploration back (resume).

Walker ``k`` draws its random numbers from its own seed, derived from the run's base seed and
``k`` alone (:func:`walker_seeds`), so its frames do not depend on how many workers there are,
in which order walkers finish, or how many other walkers run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from ase import Atoms

from alearn.config.schema import to_dict
from alearn.files import write_text_atomic
from alearn.explore import heartbeat
from alearn.explore.frames import Frame, WalkerFrames
from alearn.explore.monitor import Counts, FrameStatus, MonitorSpec, TrustWindow
from alearn.explore.walker import CalculatorSpec, Event, WalkerOutcome, WalkerTask, run_walker

INDEX = "index.json"


def stage_for_iteration(stages: Sequence[Any], iteration: int) -> Any:
    """The stage of loop iteration ``iteration`` (1-based; the last stage repeats)."""
    remaining = max(iteration, 1)
    for stage in stages:
        if remaining <= stage.iterations:
            return stage
        remaining -= stage.iterations
    return stages[-1]


@dataclass(frozen=True)
class WalkerPlan:
    """How this iteration's walkers run: stage, time step, number of walkers, monitors."""

    iteration: int
    stage: Any
    timestep_fs: float
    walkers: int
    monitor: MonitorSpec


def plan_walkers(explore_cfg: Any, iteration: int, measure: Any, window: TrustWindow) -> WalkerPlan:
    """The plan of ``iteration`` from ``[explore]`` (the md explorer's ``Params``), the
    iteration's uncertainty measure and its trust window."""
    return WalkerPlan(iteration, stage_for_iteration(explore_cfg.stages, iteration),
                      explore_cfg.timestep_fs, explore_cfg.walkers,
                      MonitorSpec.from_config(explore_cfg.monitor, measure, window))


def walker_plan(explore_cfg: Any, select_cfg: Any, iteration: int,
                lo: float | None = None) -> WalkerPlan:
    """The plan of ``iteration`` from ``[explore]`` and ``[select]`` (its measure and trust
    window; ``lo`` overrides the window's lower level)."""
    from alearn import registry

    trust = select_cfg.trust
    window = TrustWindow(trust.lo if lo is None else lo, trust.hi)
    return plan_walkers(explore_cfg, iteration, registry.make(registry.MEASURES, select_cfg.measure),
                        window)


@dataclass(frozen=True)
class ExplorationResult:
    """The walkers of one iteration: outcomes, counts and access to their frames."""

    iteration: int
    out_dir: Path
    walkers: tuple[WalkerOutcome, ...]
    lo: float
    hi: float
    temperature_K: float | None = None     # the thermostat of the stage (None: not recorded)

    @property
    def counts(self) -> Counts:
        """Counts over all walkers of the iteration."""
        return sum((w.counts for w in self.walkers), Counts())

    def walker_frames(self, walker: int) -> WalkerFrames:
        outcome = self.walkers[walker]
        return WalkerFrames.load(self.out_dir / outcome.file, outcome.walker)

    def frames(self, status: FrameStatus | None = None) -> Iterator[Frame]:
        """All stored frames (optionally only those of one status), walker by walker."""
        for outcome in self.walkers:
            for frame in self.walker_frames(outcome.walker).frames():
                if status is None or frame.status is status:
                    yield frame

    def save_index(self) -> None:
        data = {"iteration": self.iteration, "lo": self.lo, "hi": self.hi,
                "temperature_K": self.temperature_K,
                "walkers": [_outcome_to_dict(w) for w in self.walkers]}
        write_text_atomic(self.out_dir / INDEX, json.dumps(data, indent=1))

    @classmethod
    def load(cls, out_dir: str | Path) -> "ExplorationResult":
        """A finished exploration from its ``index.json``."""
        out_dir = Path(out_dir)
        data = json.loads((out_dir / INDEX).read_text())
        walkers = tuple(_outcome_from_dict(w) for w in data["walkers"])
        return cls(data["iteration"], out_dir, walkers, data["lo"], data["hi"],
                   data.get("temperature_K"))


def _outcome_to_dict(outcome: WalkerOutcome) -> dict[str, Any]:
    data = to_dict(outcome)
    data["events"] = [{**to_dict(e), "status": e.status.value} for e in outcome.events]
    return data


def _outcome_from_dict(data: dict[str, Any]) -> WalkerOutcome:
    events = tuple(Event(e["step"], FrameStatus(e["status"]), tuple(e["reasons"]), e["action"])
                   for e in data["events"])
    return WalkerOutcome(**{**data, "events": events, "counts": Counts(**data["counts"])})


def _submit(engine: Any, task: WalkerTask, key: str) -> Any:
    """``engine.submit(run_walker, task)``, naming the task where the engine takes a ``key``
    (alearn's Dask engine requires one; ``concurrent.futures`` executors take none)."""
    try:
        takes_key = "key" in inspect.signature(engine.submit).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        takes_key = False
    if takes_key:
        return engine.submit(run_walker, task, key=key)
    return engine.submit(run_walker, task)


def walker_seeds(seed: int | np.random.Generator, walkers: int) -> list[int]:
    """The seed of each walker: child ``k`` of ``SeedSequence(seed)`` (a Generator contributes
    one draw as the base seed), independent of the number of walkers and of the engine."""
    base = int(seed.integers(0, 2**63 - 1)) if isinstance(seed, np.random.Generator) else int(seed)
    children = np.random.SeedSequence(base).spawn(walkers)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def _clear(out_dir: Path) -> None:
    """Remove a previous (interrupted) run's index and walker files: index first, so a folder
    never holds an index that describes files of another run."""
    (out_dir / INDEX).unlink(missing_ok=True)
    for path in out_dir.glob("walker_*.npz"):
        path.unlink()


def _done(engine: Any, futures: Sequence[Any]) -> list[Any]:
    """The finished futures among ``futures``, waiting a little for at least one."""
    wait = getattr(engine, "wait", None)
    if wait is not None:
        return list(wait(futures, 1.0))
    done, _ = concurrent.futures.wait(futures, timeout=1.0,
                                      return_when=concurrent.futures.FIRST_COMPLETED)
    return list(done)


def _harvest(pending: dict[int, Any], outcomes: dict[int, WalkerOutcome], finished: set[int],
             on_done: Callable[[WalkerOutcome], None] | None) -> None:
    """Move the futures whose ``id`` is in ``finished`` from ``pending`` to ``outcomes``."""
    for k in [k for k, f in pending.items() if id(f) in finished]:
        outcomes[k] = pending.pop(k).result()
        if on_done is not None:
            on_done(outcomes[k])


def run_walkers(starts: Sequence[Atoms], plan: WalkerPlan, calculator: CalculatorSpec,
                engine: Any, seed: int | np.random.Generator, out_dir: str | Path,
                on_done: Callable[[WalkerOutcome], None] | None = None,
                temperature_K: float | None = None,
                progress: Callable[..., None] | None = None) -> ExplorationResult:
    """Run ``plan.walkers`` walkers (starts used round-robin) through ``engine``; wait for all.

    ``seed``: the base seed of :func:`walker_seeds`; ``on_done(outcome)`` is called in this
    process as each walker finishes.  ``progress(steps_done, walkers × steps, T_K=…,
    sigma=…)`` is called as the walkers advance, from their heartbeats
    (:mod:`alearn.explore.heartbeat`; possibly from a watcher thread, one call at a time).  A
    model directory given as ``calculator`` is made absolute, so workers with another working
    directory find it.
    """
    if not starts:
        from alearn.errors import UserError

        raise UserError("exploration needs at least one start structure ([campaign] structures)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear(out_dir)
    if isinstance(calculator, (str, Path)):
        calculator = str(Path(calculator).resolve())
    seeds = walker_seeds(seed, plan.walkers)
    tracker = None if progress is None else heartbeat.Tracker(plan.walkers, plan.stage.steps, progress)

    def finished(outcome: WalkerOutcome) -> None:
        if tracker is not None:
            tracker.finish(outcome.walker)
        if on_done is not None:
            on_done(outcome)

    pending: dict[int, Any] = {}
    outcomes: dict[int, WalkerOutcome] = {}
    with (heartbeat.Watcher(out_dir, tracker) if tracker is not None else contextlib.nullcontext()):
        for k in range(plan.walkers):
            task = WalkerTask(k, k % len(starts), starts[k % len(starts)].copy(), plan.stage,
                              plan.timestep_fs, plan.monitor, calculator, seeds[k],
                              out_dir.resolve() / f"walker_{k:03d}.npz",
                              None if tracker is None else heartbeat.INTERVAL_S)
            future = _submit(engine, task, f"explore-{plan.iteration}-walker{k}-{seeds[k]}")
            pending[k] = future
            if future.done():            # in-process engines finish at submission
                _harvest(pending, outcomes, {id(future)}, finished)
        while pending:
            _harvest(pending, outcomes, {id(f) for f in _done(engine, list(pending.values()))},
                     finished)
    result = ExplorationResult(plan.iteration, out_dir, tuple(outcomes[k] for k in range(plan.walkers)),
                               plan.monitor.lo, plan.monitor.hi, temperature_K)
    result.save_index()
    return result


def describe(result: ExplorationResult) -> str:
    """Counts per walker and in total, one line each (for logs and the closing notes)."""
    lines = []
    for w in result.walkers:
        c = w.counts
        lines.append(f"walker {w.walker:3d} (start {w.start_index}): {c.accurate} accurate, "
                     f"{c.candidate} candidate, {c.failed} failed ({c.insane} insane); "
                     f"{w.steps_done} steps, {w.rollbacks} rollbacks, {w.stop_reason}")
    c = result.counts
    lines.append(f"iteration {result.iteration}: {c.accurate} accurate, {c.candidate} candidate, "
                 f"{c.failed} failed ({c.insane} insane) in [lo, hi) = [{result.lo}, {result.hi})")
    return "\n".join(lines)


__all__ = ["ExplorationResult", "WalkerPlan", "describe", "plan_walkers", "run_walkers",
           "stage_for_iteration", "walker_plan", "walker_seeds"]
