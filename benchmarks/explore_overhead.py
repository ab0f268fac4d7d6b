"""Cost of monitoring per MD step, as a ratio to unmonitored MD with the same committee.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/explore_overhead.py --model /tmp/explore_demo/model
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/explore_overhead.py --every 10 --heartbeat 0 0.5

``--heartbeat S …`` adds walkers monitored every ``--every`` steps that also write their progress
heartbeat (:mod:`alearn.explore.heartbeat`) at most every S seconds (0: at every judged frame,
the worst case), and times one heartbeat write alone.

Runs Langevin MD on a water cluster with the committee calculator (a) plainly with
``dyn.run(steps)`` and (b) as an alearn walker monitored every n steps (uncertainty measure,
sanity checks including the closest-pair search, frame storage in memory), side by side and
repeated (interleaved), and prints the median CPU time per step (``time.process_time``: the
process is single-threaded with OMP_NUM_THREADS=1, and CPU time is robust on a shared machine)
and the ratio.  Without ``--model`` a committee
with random weights (default descriptor, 4 members, 16×16 hidden) is used: the cost of a
committee evaluation does not depend on its weights.  The trust window is set wide open so no
walker rolls back (the number of force evaluations is identical in both runs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.build import molecule
from ase.md.langevin import Langevin

from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore.integrators import initial_velocities
from alearn.explore.run import walker_plan
from alearn.explore.walker import WalkerTask, _MdWalker


def water_cluster(n: int) -> Atoms:
    rng = np.random.default_rng(0)
    atoms = Atoms()
    for k in range(n):
        w = molecule("H2O")
        w.rotate(rng.uniform(0, 360), rng.normal(size=3), center="COP")
        w.translate(3.0 * np.array([k % 3, (k // 3) % 3, k // 9], dtype=float))
        atoms += w
    atoms.center(vacuum=6.0)
    return atoms


def calculator(model: Path | None, elements: tuple[str, ...]):
    if model is not None:
        from alearn.models import load

        return load(model).as_calculator()
    from alearn.descriptors.chebyshev import ChebyshevSpec
    from alearn.models.committee import Committee

    spec = ChebyshevSpec(elements)
    committee = Committee(spec, (16, 16), "softplus", 4, seeds=range(4))
    with torch.no_grad():
        committee.scale.mul_(0.05)       # gentle random surface: MD stays finite
    return committee.as_calculator()


def plain(atoms: Atoms, calc, steps: int, seed: int) -> float:
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    initial_velocities(atoms, 300.0, rng)
    dyn = Langevin(atoms, 0.5 * units.fs, temperature_K=300.0, friction=0.01 / units.fs,
                   rng=rng, fixcm=False)
    started = time.process_time()
    dyn.run(steps)
    return (time.process_time() - started) / steps


def monitored(atoms: Atoms, calc, steps: int, every: int, seed: int,
              heartbeat_s: float | None = None, beat_dir: Path | None = None) -> float:
    explore = ExploreConfig(walkers=1, timestep_fs=0.5, monitor=MonitorConfig(every_steps=every),
                            stages=(StageConfig(temperature_K=300.0, steps=steps),))
    plan = walker_plan(explore, SelectConfig(trust=TrustConfig(lo=0.05, hi=1e9)), 1)
    task = WalkerTask(0, 0, atoms, plan.stage, plan.timestep_fs, plan.monitor, lambda: calc, seed,
                      Path("/dev/null"))
    beat = None
    if heartbeat_s is not None:
        from alearn.explore.heartbeat import Heartbeat

        beat = Heartbeat(beat_dir / "walker_000.beat", 0, steps, heartbeat_s)
    walker = _MdWalker(task, calc, beat)
    started = time.process_time()
    walker.run()
    return (time.process_time() - started) / steps


def observation_cost(atoms: Atoms, calc, repeats: int = 200) -> float:
    """CPU seconds of one monitoring point alone: results read-out, measure, sanity checks
    (closest pair, forces, temperature, energy spike) and frame storage."""
    from alearn.explore.frames import FrameWriter
    from alearn.explore.monitor import Monitor
    from alearn.explore.walker import _observe

    explore = ExploreConfig(walkers=1, stages=(StageConfig(temperature_K=300.0),))
    spec = walker_plan(explore, SelectConfig(trust=TrustConfig(lo=0.05, hi=1e9)), 1).monitor
    atoms = atoms.copy()
    atoms.calc = calc
    initial_velocities(atoms, 300.0, np.random.default_rng(0))
    atoms.get_forces()
    monitor, writer = Monitor(spec, atoms.numbers), FrameWriter(atoms.numbers, atoms.pbc)
    started = time.process_time()
    for k in range(repeats):
        check, results = _observe(atoms, monitor, 300.0)
        writer.add(atoms, k, results["energy"], check)
    return (time.process_time() - started) / repeats


def heartbeat_cost(atoms: Atoms, directory: Path, repeats: int = 500) -> float:
    """CPU seconds of one heartbeat write (temperature, JSON, atomic replace without fsync)."""
    from alearn.explore.heartbeat import Heartbeat

    atoms = atoms.copy()
    initial_velocities(atoms, 300.0, np.random.default_rng(0))
    beat = Heartbeat(directory / "walker_000.beat", 0, repeats, 0.0)
    started = time.process_time()
    for k in range(repeats):
        beat(k, atoms, 0.1)
    return (time.process_time() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--waters", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--heartbeat", type=float, nargs="*", default=[],
                        help="heartbeat intervals (s) to time, monitored every --every[0] steps")
    parser.add_argument("--beat-dir", type=Path, default=None,
                        help="where heartbeat files go (default: a temporary directory)")
    args = parser.parse_args()
    import tempfile

    beat_dir = args.beat_dir or Path(tempfile.mkdtemp(prefix="alearn-beat-"))
    torch.set_num_threads(1)
    atoms = water_cluster(args.waters)
    calc = calculator(args.model, ("H", "O"))
    plain(atoms, calc, 20, 0)                                  # warm-up
    rows = {"plain": []} | {n: [] for n in args.every} | {("beat", s): [] for s in args.heartbeat}
    for r in range(args.repeats):
        rows["plain"].append(plain(atoms, calc, args.steps, r))
        for n in args.every:
            rows[n].append(monitored(atoms, calc, args.steps, n, r))
        for s in args.heartbeat:
            rows[("beat", s)].append(monitored(atoms, calc, args.steps, args.every[0], r, s, beat_dir))
    base = statistics.median(rows["plain"])
    point = statistics.median(observation_cost(atoms, calc) for _ in range(args.repeats))
    print(f"{len(atoms)} atoms, {args.steps} steps × {args.repeats} repeats, "
          f"model: {args.model or 'random committee'}")
    print(f"unmonitored: {1e3 * base:.3f} ms/step (CPU)")
    print(f"one monitoring point alone: {1e3 * point:.3f} ms = {100 * point / base:.1f} % of an "
          f"MD step → expected ratio 1 + {point / base:.3f}/n")
    for n in args.every:
        t = statistics.median(rows[n])
        spread = max(rows[n]) / min(rows[n])
        print(f"monitored every {n:3d} steps: {1e3 * t:.3f} ms/step, ratio {t / base:.3f} "
              f"(max/min over repeats {spread:.2f})")
    if args.heartbeat:
        beat = statistics.median(heartbeat_cost(atoms, beat_dir) for _ in range(args.repeats))
        print(f"one heartbeat write alone: {1e3 * beat:.3f} ms = {100 * beat / base:.1f} % of an MD "
              f"step (files in {beat_dir})")
    for s in args.heartbeat:
        t = statistics.median(rows[("beat", s)])
        spread = max(rows[("beat", s)]) / min(rows[("beat", s)])
        # the same seed gives the same trajectory with and without the heartbeat (it draws no
        # random numbers), so the per-repeat ratio is paired; trajectories of different seeds
        # differ in cost (neighbour counts), which the ratio of medians would mix in
        paired = [b / m for b, m in zip(rows[("beat", s)], rows[args.every[0]])]
        print(f"monitored every {args.every[0]} + heartbeat every ≥{s:g} s: {1e3 * t:.3f} ms/step, "
              f"ratio {t / base:.3f} (max/min {spread:.2f}); paired with monitored alone: median "
              f"{statistics.median(paired):.3f}, range {min(paired):.3f}–{max(paired):.3f}")


if __name__ == "__main__":
    main()
