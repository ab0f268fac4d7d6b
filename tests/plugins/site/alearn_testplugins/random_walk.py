"""Explorer ``random_walk``: walkers that move every atom by Gaussian steps (no dynamics), the
frame judged every ``every_steps`` steps by alearn's monitor; a failed or insane frame sends
the walker back to its last trusted frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from alearn.config.explore import MonitorConfig
from alearn.config.schema import option
from alearn.explore.frames import FrameWriter
from alearn.explore.monitor import Counts, FrameStatus, Monitor, MonitorSpec
from alearn.explore.protocol import ExploreRequest
from alearn.explore.run import ExplorationResult, walker_seeds
from alearn.explore.walker import Event, WalkerOutcome, model_calculator

BAD = (FrameStatus.FAILED, FrameStatus.INSANE)


class RandomWalk:
    """The ``alearn.explorers`` plugin ``random_walk``."""

    @dataclass(frozen=True)
    class Params:
        """Random walks of every atom on the surrogate, judged by the monitor."""

        kind: Literal["random_walk"] = option("random_walk", doc="explorer")
        walkers: int = option(2, doc="walkers per iteration (start structures round-robin)", ge=1)
        steps: int = option(40, doc="steps per walker", ge=1)
        step_A: float = option(0.03, doc="standard deviation of each atomic step", unit="Å", gt=0.0)
        monitor: MonitorConfig = option(factory=lambda: MonitorConfig(every_steps=5), doc="monitors of each walker")

    def __init__(self, params: Any) -> None:
        self.params = params

    def explore(self, request: ExploreRequest) -> ExplorationResult:
        out = Path(request.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        spec = MonitorSpec(request.measure, request.window, self.params.monitor)
        seeds = walker_seeds(request.seed, self.params.walkers)
        outcomes = []
        for k, seed in enumerate(seeds):
            outcomes.append(self._walk(k, request, spec, seed, out))
            if request.progress is not None:
                request.progress(k + 1, len(seeds))
        result = ExplorationResult(request.iteration, out, tuple(outcomes), request.window.lo,
                                   request.window.hi)
        result.save_index()
        return result

    def _walk(self, k: int, request: ExploreRequest, spec: MonitorSpec, seed: int,
              out: Path) -> WalkerOutcome:
        p, rng = self.params, np.random.default_rng(seed)
        start = request.starts[k % len(request.starts)]
        atoms = start.copy()
        atoms.calc = model_calculator(str(request.model), **request.calculator_options)
        monitor = Monitor(spec, atoms.numbers, atoms.calc.surrogate)
        writer, events, trusted = FrameWriter(atoms.numbers, atoms.pbc), [], atoms.positions.copy()
        for step in range(1, p.steps + 1):
            atoms.positions = atoms.positions + rng.normal(0.0, p.step_A, atoms.positions.shape)
            if step % p.monitor.every_steps:
                continue
            atoms.get_forces()
            check = monitor.observe(atoms, atoms.calc.results)
            writer.add(atoms, step, atoms.get_potential_energy(), check)
            if check.status in BAD:
                events.append(Event(step, check.status, check.reasons, "rollback"))
                atoms.positions = trusted.copy()
            elif check.status is FrameStatus.ACCURATE:
                trusted = atoms.positions.copy()
        name = f"walker_{k:03d}.npz"
        writer.write(out / name)
        return WalkerOutcome(k, k % len(request.starts), name, len(writer), p.steps, "completed",
                             len(events), tuple(events), Counts.of(writer.codes()))
