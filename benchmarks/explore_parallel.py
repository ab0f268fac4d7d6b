"""Walkers of one iteration: in this process one after another vs on a Dask LocalCluster.

A small committee (3 members, 16x16) is trained on rattled 19-atom Cu clusters (EMT labels);
then ``WALKERS`` walkers of ``STEPS`` MD steps run on it through ``run_walkers``, first in
process, then on ``[dispatch] engine = "local"`` with 1 and 2 workers (the cluster started and
warmed by one short walker before timing, as in a campaign, where the engine stays up).  The
frames are checked to be identical everywhere.

    OMP_NUM_THREADS=1 python benchmarks/explore_parallel.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.cluster import Octahedron

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.config.dispatch import DispatchConfig
from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig
from alearn.explore.run import run_walkers, walker_plan
from alearn.label.engines import InProcessEngine, make_engine
from alearn.train.trainer import train_committee

WALKERS, STEPS = 4, 300


def model(directory: Path):
    rng = np.random.default_rng(0)
    base = Octahedron("Cu", 3)
    base.center(vacuum=5.0)
    data = []
    for _ in range(16):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
        atoms.calc = EMT()
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        data.append(atoms)
    committee, _ = train_committee(
        data, [], DescriptorConfig(radial_cutoff_A=4.5, angular_cutoff_A=3.0, radial_order=6,
                                   angular_order=3),
        CommitteeConfig(members=3, hidden=(16, 16)),
        TrainConfig(epochs=30, validation_fraction=0.0, patience=0), seed=0)
    committee.save(directory)
    return base


def plan(walkers: int, steps: int):
    explore = ExploreConfig(walkers=walkers, timestep_fs=2.0, monitor=MonitorConfig(every_steps=10),
                            stages=(StageConfig(temperature_K=300.0, steps=steps),))
    return walker_plan(explore, SelectConfig(), 1)


def timed(engine, start, directory: Path, out: Path) -> tuple[float, np.ndarray]:
    began = time.perf_counter()
    result = run_walkers([start], plan(WALKERS, STEPS), str(directory), engine, 5, out)
    seconds = time.perf_counter() - began
    return seconds, np.concatenate([result.walker_frames(k).positions for k in range(WALKERS)])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = model(tmp / "model")
        here, frames = timed(InProcessEngine(), start, tmp / "model", tmp / "here")
        print(f"in process      : {here:6.2f} s for {WALKERS} walkers x {STEPS} steps")
        for workers in (1, 2):
            with make_engine(DispatchConfig(engine="local", workers=workers)) as engine:
                warm = time.perf_counter()
                run_walkers([start], plan(workers, 10), str(tmp / "model"), engine, 1, tmp / "warm")
                warm = time.perf_counter() - warm
                seconds, other = timed(engine, start, tmp / "model", tmp / f"dask{workers}")
            assert np.array_equal(frames, other), "frames differ between engines"
            print(f"dask, {workers} worker(s): {seconds:6.2f} s  ({here / seconds:4.2f}x; "
                  f"start-up walker {warm:.1f} s; frames identical)")


if __name__ == "__main__":
    main()
