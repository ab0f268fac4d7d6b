"""Walkers on a fake surrogate (EMT + position-dependent spread) through real executors."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.config.schema import build
from alearn.errors import UserError
from alearn.explore.monitor import FrameStatus
from alearn.explore.run import ExplorationResult, describe, run_walkers, stage_for_iteration, walker_plan


def plan_for(stage: StageConfig, walkers: int = 2, lo: float = 0.1, hi: float = 0.6, **monitor):
    explore = ExploreConfig(walkers=walkers, timestep_fs=2.0, stages=(stage,),
                            monitor=MonitorConfig(every_steps=10, **monitor))
    return walker_plan(explore, SelectConfig(trust=TrustConfig(lo=lo, hi=hi)), 1)


@pytest.fixture(autouse=True)
def _factory(make_factory):
    global fake_factory
    fake_factory = make_factory


def explore(tmp_path, atoms, stage, factory_kwargs=None, seed=0, **plan_kwargs):
    plan = plan_for(stage, **plan_kwargs)
    with ThreadPoolExecutor(2) as engine:
        return run_walkers([atoms], plan, fake_factory(atoms, **(factory_kwargs or {})), engine,
                           np.random.default_rng(seed), tmp_path)


def test_walkers_store_monitored_frames_and_count_them(tmp_path, cluster):
    result = explore(tmp_path, cluster, StageConfig(temperature_K=500.0, steps=60))
    assert len(result.walkers) == 2
    for outcome in result.walkers:
        frames = result.walker_frames(outcome.walker)
        assert outcome.counts.total == outcome.frames == len(frames)
        assert frames.positions.dtype == np.float32 and frames.positions.shape[1:] == (19, 3)
        assert np.all(np.diff(frames.steps) != 0)
    loaded = ExplorationResult.load(tmp_path)
    assert loaded == result
    assert "iteration 1:" in describe(result)
    assert sum(1 for _ in result.frames()) == result.counts.total


def test_same_seed_same_trajectories(tmp_path, cluster):
    stage = StageConfig(temperature_K=400.0, steps=30)
    first = explore(tmp_path / "a", cluster, stage, seed=7)
    second = explore(tmp_path / "b", cluster, stage, seed=7)
    other = explore(tmp_path / "c", cluster, stage, seed=8)
    pos = lambda r: r.walker_frames(0).positions  # noqa: E731
    assert np.array_equal(pos(first), pos(second))
    assert not np.array_equal(pos(first), pos(other))


def test_walker_stops_at_the_upper_trust_level(tmp_path, cluster):
    result = explore(tmp_path, cluster, StageConfig(temperature_K=800.0, steps=400),
                     factory_kwargs={"slope": 5.0}, hi=0.4, on_failure="stop")
    for outcome in result.walkers:
        assert outcome.stop_reason == "failed" and outcome.steps_done < 400
        assert [e.action for e in outcome.events] == ["stop"]
        frames = result.walker_frames(outcome.walker)
        assert FrameStatus.from_code(frames.status[-1]) is FrameStatus.FAILED
        assert frames.measure[-1] >= 0.4 and np.all(frames.measure[:-1] < 0.4)


def test_rollbacks_until_exhausted(tmp_path, cluster):
    result = explore(tmp_path, cluster, StageConfig(temperature_K=800.0, steps=600),
                     factory_kwargs={"slope": 5.0}, hi=0.4, max_rollbacks=2)
    for outcome in result.walkers:
        assert [e.action for e in outcome.events] == ["rollback", "rollback", "stop"]
        assert outcome.stop_reason == "rollbacks exhausted" and outcome.rollbacks == 2
        frames = result.walker_frames(outcome.walker)
        assert np.sum(frames.status == FrameStatus.FAILED.code) == 3


def test_rollback_restores_the_last_trusted_frame_with_fresh_velocities(tmp_path, cluster):
    from alearn.explore.monitor import Check
    from alearn.explore.walker import WalkerTask, _MdWalker, _Rollback

    plan = plan_for(StageConfig(temperature_K=300.0, steps=100), walkers=1)
    task = WalkerTask(0, 0, cluster, plan.stage, plan.timestep_fs, plan.monitor,
                      fake_factory(cluster), 3, tmp_path / "w.npz")
    walker = _MdWalker(task, fake_factory(cluster)())
    walker._restart(0)
    assert [o[0] for o in walker.dyn.observers] == [walker._observer]   # ASE drives the monitor
    walker.dyn.observers.clear()                                       # here: judged by hand
    walker.dyn.run(5)
    good = Check(FrameStatus.ACCURATE, 0.01, None, (), None, np.inf)
    walker._judge(5, good, {})
    trusted, momenta = walker.atoms.positions.copy(), walker.atoms.get_momenta().copy()
    walker.dyn.run(20)
    assert not np.allclose(walker.atoms.positions, trusted)
    bad = Check(FrameStatus.FAILED, 0.9, None, ("too uncertain",), None, np.inf)
    with pytest.raises(_Rollback):
        walker._judge(25, bad, {})
    assert np.array_equal(walker.atoms.positions, trusted)
    assert not np.allclose(walker.atoms.get_momenta(), momenta)
    assert walker.rollbacks == 1 and walker.events[-1].action == "rollback"
    assert walker.atoms.get_temperature() > 0 and walker.base == 25 and walker.dyn.nsteps == 0


@pytest.mark.parametrize("method", ["langevin", "bussi", "nose_hoover", "nve"])
def test_every_nvt_method_runs(tmp_path, cluster, method):
    result = explore(tmp_path, cluster, StageConfig(temperature_K=300.0, steps=20, method=method),
                     walkers=1)
    outcome = result.walkers[0]
    assert outcome.stop_reason == "completed" and outcome.frames == 2
    assert np.isfinite(result.walker_frames(0).energy).all()


def test_npt_changes_the_cell_and_needs_periodicity(tmp_path, cluster, copper_bulk):
    stage = StageConfig(temperature_K=300.0, steps=40, method="npt", pressure_GPa=5.0,
                        barostat_time_fs=100.0)
    result = explore(tmp_path, copper_bulk, stage, walkers=1)
    cells = result.walker_frames(0).cells
    volume = [abs(np.linalg.det(c)) for c in cells]
    assert not np.allclose(volume, copper_bulk.get_volume(), rtol=1e-5)
    with pytest.raises(UserError, match="periodic cell"):
        explore(tmp_path / "c", cluster, stage, walkers=1)


def test_displacement_and_strain_sampling(tmp_path, copper_bulk):
    stage = StageConfig(temperature_K=300.0, steps=6, method="strain", max_strain=0.04,
                        displacement_A=0.03)
    result = explore(tmp_path, copper_bulk, stage, walkers=1)
    frames = result.walker_frames(0)
    assert len(frames) == 6 and list(frames.steps) == [1, 2, 3, 4, 5, 6]
    ratio = np.array([abs(np.linalg.det(c)) for c in frames.cells]) / copper_bulk.get_volume()
    assert np.all(np.abs(ratio - 1) < 3 * 0.04 + 1e-6) and np.ptp(ratio) > 1e-3
    stage = StageConfig(temperature_K=300.0, steps=5, method="displace", displacement_A=0.05)
    frames = explore(tmp_path / "d", copper_bulk, stage, walkers=1).walker_frames(0)
    moved = frames.positions - copper_bulk.positions.astype(np.float32)
    assert np.allclose(frames.cells, copper_bulk.cell[:], atol=1e-5)
    assert 0.03 < moved.std() < 0.07


def test_walker_tasks_are_picklable_for_process_engines(tmp_path, cluster):
    plan = plan_for(StageConfig(temperature_K=300.0, steps=10), walkers=1)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(1, mp_context=context) as engine:
        result = run_walkers([cluster], plan, fake_factory(cluster), engine,
                             np.random.default_rng(0), tmp_path)
    assert result.walkers[0].frames == 1


def test_stage_schedule_like_dp_gen():
    raw = {"stages": [{"temperature_K": 300.0, "iterations": 2},
                      {"temperature_K": 600.0, "iterations": 1, "method": "bussi"},
                      {"temperature_K": 900.0, "method": "npt", "pressure_GPa": 1.0}]}
    cfg = build(ExploreConfig, raw, path="explore")
    temps = [stage_for_iteration(cfg.stages, it).temperature_K for it in range(1, 7)]
    assert temps == [300.0, 300.0, 600.0, 900.0, 900.0, 900.0]


def test_calculator_failure_is_an_insane_frame(tmp_path, cluster):
    result = explore(tmp_path, cluster, StageConfig(temperature_K=300.0, steps=5, method="displace",
                                                    displacement_A=0.3),
                     factory_kwargs={"fail_beyond_A": 0.2}, walkers=1)
    outcome = result.walkers[0]
    assert outcome.frames == 0 and len(outcome.events) == 5
    assert outcome.events[0].reasons[0].startswith("calculator failed: RuntimeError")
