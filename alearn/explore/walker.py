"""One walker: MD (or random displacement / strain sampling) on the surrogate with its monitor.

MD walkers are ASE dynamics with an observer attached (``Dynamics.attach``): the monitor judges
a frame every ``[explore.monitor] every_steps`` steps; a failed or insane frame rolls the walker
back to its last trusted frame (fresh velocities, a fresh integrator) or stops it.

A :class:`WalkerTask` is picklable: it carries the surrogate as a *model directory* (loaded in
the worker by ``alearn.models.load(path).as_calculator()``) or as a picklable zero-argument
calculator factory, never as a live calculator.  :func:`run_walker` is what the engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from alearn.errors import UserError
from alearn.explore.frames import FrameWriter
from alearn.explore.heartbeat import Heartbeat, beat_path
from alearn.explore.integrators import MD_METHODS, initial_velocities, make_dynamics
from alearn.explore.monitor import Check, Counts, FrameStatus, Monitor, MonitorSpec

#: a model directory, or a picklable factory returning a fresh ASE calculator
CalculatorSpec = Union[str, Path, Callable[[], Calculator]]


def model_calculator(path: str, **options: Any) -> Calculator:
    """The ASE calculator of the surrogate saved in ``path`` with calculator ``options`` (use it
    as ``functools.partial(model_calculator, path, **options)``, a picklable CalculatorSpec)."""
    from alearn.models import load

    return load(Path(path)).as_calculator(**options)


def make_calculator(spec: CalculatorSpec) -> Calculator:
    """The surrogate calculator described by ``spec`` (built inside the worker)."""
    if isinstance(spec, (str, Path)):
        try:
            from alearn.models import load
        except ImportError as exc:  # the model package does not provide a loader
            raise UserError(f"cannot load the surrogate in {spec}: {exc}") from None
        return load(Path(spec)).as_calculator()
    return spec()


@dataclass(frozen=True)
class Event:
    """A failed or insane frame and what the walker did about it."""

    step: int
    status: FrameStatus
    reasons: tuple[str, ...]
    action: str                     # "rollback", "stop" or "record"


@dataclass(frozen=True)
class WalkerTask:
    """Everything one walker needs; travels to the worker."""

    walker: int
    start_index: int
    start: Atoms
    stage: Any                      # alearn.config.explore.StageConfig
    timestep_fs: float
    monitor: MonitorSpec
    calculator: CalculatorSpec
    seed: int
    path: Path
    heartbeat_s: float | None = None  # write walker_NNN.beat at most this often (None: never)


@dataclass(frozen=True)
class WalkerOutcome:
    """What a walker did: its frames file, counts, failures and why it stopped."""

    walker: int
    start_index: int
    file: str
    frames: int
    steps_done: int
    stop_reason: str                # "completed", "failed", "insane", "rollbacks exhausted"
    rollbacks: int
    events: tuple[Event, ...]
    counts: Counts
    rescales: int = 0               # velocity rescalings of the temperature guard


@dataclass
class _Trusted:
    positions: np.ndarray
    cell: np.ndarray
    energy: float | None


def _fresh(calc: Calculator, atoms: Atoms) -> bool:
    """The calculator's results belong to exactly these positions, cell and atoms (a cheaper
    test than ASE's ``check_state``, which compares every array with ``allclose``)."""
    done = getattr(calc, "atoms", None)
    return (done is not None and "energy" in calc.results and "forces" in calc.results
            and np.array_equal(done.numbers, atoms.numbers)
            and np.array_equal(done.positions, atoms.positions)
            and np.array_equal(done.cell[:], atoms.cell[:])
            and np.array_equal(done.pbc, atoms.pbc))


def _results(atoms: Atoms) -> dict[str, Any]:
    if not _fresh(atoms.calc, atoms):
        atoms.get_potential_energy()
        atoms.get_forces()
    return dict(atoms.calc.results)


def _observe(atoms: Atoms, monitor: Monitor, target_K: float | None) -> tuple[Check, dict]:
    try:
        results = _results(atoms)
    except Exception as exc:  # the surrogate could not evaluate this geometry: insane frame
        reason = f"calculator failed: {type(exc).__name__}: {exc}"
        return Check(FrameStatus.INSANE, float("nan"), None, (reason,), None, float("inf")), {}
    temperature = atoms.get_temperature() if target_K is not None else None
    return monitor.observe(atoms, results, temperature, target_K), results


class _Rollback(Exception):
    """Raised by the observer after a rollback: the integrator was replaced."""


class _Stopped(Exception):
    """Raised by the observer when the walker stops; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _MdWalker:
    """One walker as ASE dynamics with an observer: every ``every_steps`` steps the observer
    asks the monitor about the frame, stores it and reacts (continue, roll back to the last
    trusted frame with fresh velocities and a fresh integrator, or stop)."""

    def __init__(self, task: WalkerTask, calc: Calculator, beat: Heartbeat | None = None) -> None:
        self.task = task
        self.beat = beat
        self.rng = np.random.default_rng(task.seed)
        self.atoms = task.start.copy()
        self.atoms.calc = calc
        self.monitor = Monitor(task.monitor, self.atoms.numbers, getattr(calc, "surrogate", None))
        self.writer = FrameWriter(self.atoms.numbers, self.atoms.pbc)
        self.events: list[Event] = []
        self.rollbacks = 0
        self.trusted = _Trusted(self.atoms.positions.copy(), self.atoms.cell[:].copy(), None)
        self.base = 0               # the stage step at which the current integrator started
        self.last = 0               # the stage step of the last judged frame
        self.rescales = 0           # velocity rescalings of earlier guards (before rollbacks)
        self.guard: Any = None

    def _restart(self, step: int) -> None:
        initial_velocities(self.atoms, self.task.stage.temperature_K, self.rng)
        self.dyn = make_dynamics(self.atoms, self.task.stage, self.task.timestep_fs, self.rng)
        config = self.task.monitor.config
        if config.rescale_above_factor > 0:
            from alearn.explore.guard import TemperatureGuard

            self.rescales += self.guard.rescales if self.guard is not None else 0
            self.guard = TemperatureGuard(self.atoms, self.task.stage.temperature_K,
                                          config.rescale_above_factor, config.ramp_steps)
            self.dyn.attach(self.guard, interval=1)
        self.dyn.attach(self._observer, interval=config.every_steps)
        self.base = step

    def _observer(self) -> None:
        if self.dyn.nsteps:          # ASE also calls observers before the first step
            step = self.base + self.dyn.nsteps
            self._judge(step, *_observe(self.atoms, self.monitor, self.task.stage.temperature_K))

    def run(self) -> tuple[int, str]:
        self._restart(0)
        check, results = _observe(self.atoms, self.monitor, None)
        self.trusted.energy = results.get("energy")
        total = self.task.stage.steps
        while self.last < total:
            try:
                self._advance(total)
            except _Rollback:
                continue
            except _Stopped as stop:
                return self.last, stop.reason
        return total, "completed"

    def _advance(self, total: int) -> None:
        """Run the integrator to the end of the stage (the observer judges on the way); a last
        partial interval is judged at the end, an integrator failure at the next interval."""
        try:
            self.dyn.run(total - self.base)
        except (_Rollback, _Stopped):
            raise
        except Exception as exc:  # integrator or calculator blew up between observations
            check = Check(FrameStatus.INSANE, float("nan"), None,
                          (f"MD failed: {type(exc).__name__}: {exc}",), None, float("inf"))
            self._judge(min(self.last + self.task.monitor.config.every_steps, total), check, {})
            return
        if self.last < total:
            self._judge(total, *_observe(self.atoms, self.monitor, self.task.stage.temperature_K))

    def _judge(self, step: int, check: Check, results: dict) -> None:
        self.last = step
        if self.beat is not None:
            self.beat(step, self.atoms, check.measure)
        if results:
            self.writer.add(self.atoms, step, results["energy"], check)
        if check.status is FrameStatus.ACCURATE:
            self.trusted = _Trusted(self.atoms.positions.copy(), self.atoms.cell[:].copy(),
                                    self.monitor.previous_energy)
            return
        if check.status is FrameStatus.CANDIDATE:
            return
        config = self.task.monitor.config
        if config.on_failure == "stop" or self.rollbacks >= config.max_rollbacks:
            self.events.append(Event(step, check.status, check.reasons, "stop"))
            raise _Stopped(check.status.value if config.on_failure == "stop" else "rollbacks exhausted")
        self.events.append(Event(step, check.status, check.reasons, "rollback"))
        self.rollbacks += 1
        self.atoms.set_cell(self.trusted.cell, scale_atoms=False)
        self.atoms.positions = self.trusted.positions
        self.monitor.reset(self.trusted.energy)
        self._restart(step)
        raise _Rollback


def _sample(task: WalkerTask, atoms: Atoms, rng: np.random.Generator) -> Atoms:
    stage = task.stage
    sample = atoms.copy()
    if stage.method == "strain":
        eps = rng.uniform(-stage.max_strain, stage.max_strain, (3, 3))
        deform = np.eye(3) + 0.5 * (eps + eps.T)
        if sample.pbc.any():
            sample.set_cell(sample.cell[:] @ deform, scale_atoms=True)
        else:
            centre = sample.positions.mean(axis=0)
            sample.positions = (sample.positions - centre) @ deform + centre
    sample.positions += rng.normal(0.0, stage.displacement_A, sample.positions.shape)
    return sample


def _run_sampler(task: WalkerTask, calc: Calculator,
                 beat: Heartbeat | None = None) -> tuple[FrameWriter, list[Event], int]:
    rng = np.random.default_rng(task.seed)
    monitor = Monitor(task.monitor, task.start.numbers, getattr(calc, "surrogate", None))
    writer = FrameWriter(task.start.numbers, task.start.pbc)
    events: list[Event] = []
    for k in range(1, task.stage.steps + 1):
        sample = _sample(task, task.start, rng)
        sample.calc = calc
        monitor.reset()              # samples are independent: no energy-spike history
        check, results = _observe(sample, monitor, None)
        if results:
            writer.add(sample, k, results["energy"], check)
        if check.status in (FrameStatus.FAILED, FrameStatus.INSANE):
            events.append(Event(k, check.status, check.reasons, "record"))
        if beat is not None:
            beat(k, None, check.measure)
    return writer, events, task.stage.steps


def run_walker(task: WalkerTask) -> WalkerOutcome:
    """Run one walker to completion, write its frames file, and report."""
    calc = make_calculator(task.calculator)
    beat = (None if task.heartbeat_s is None else
            Heartbeat(beat_path(task.path), task.walker, task.stage.steps, task.heartbeat_s))
    if task.stage.method in MD_METHODS:
        walker = _MdWalker(task, calc, beat)
        steps, reason = walker.run()
        writer, events, rollbacks = walker.writer, walker.events, walker.rollbacks
        rescales = walker.rescales + (walker.guard.rescales if walker.guard is not None else 0)
    else:
        writer, events, steps = _run_sampler(task, calc, beat)
        reason, rollbacks, rescales = "completed", 0, 0
    task.path.parent.mkdir(parents=True, exist_ok=True)
    writer.write(task.path)
    if beat is not None:
        beat(steps, done=True)
    return WalkerOutcome(task.walker, task.start_index, task.path.name, len(writer), steps,
                         reason, rollbacks, tuple(events), Counts.of(writer.codes()), rescales)
