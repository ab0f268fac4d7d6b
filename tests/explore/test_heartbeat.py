"""Walker heartbeats (alearn.explore.heartbeat): the writer, the reader, the tracker that turns
them into the explore bar, and run_walkers reporting MD steps as they happen."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from ase.build import bulk

from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore import heartbeat
from alearn.explore.heartbeat import Beat, Heartbeat, Tracker, Watcher, beat_path, read_beat, read_beats
from alearn.explore.run import run_walkers, walker_plan


def test_writer_throttles_and_always_writes_the_last_beat(tmp_path: Path) -> None:
    path = beat_path(tmp_path / "walker_003.npz")
    assert path.name == "walker_003.beat"
    atoms = bulk("Cu", cubic=True)
    atoms.set_momenta(np.full((len(atoms), 3), 0.5))
    beat = Heartbeat(path, 3, 100, interval_s=1e9)
    beat(10, atoms, 0.2)
    first = read_beat(path)
    assert first == Beat(3, 10, 100, first.T_K, 0.2, False) and first.T_K > 0
    beat(20, atoms, 0.3)                       # inside the interval: not written
    assert read_beat(path).step == 10
    beat(70, done=True)                        # the last beat is always written
    assert read_beat(path) == Beat(3, 70, 100, None, None, True)
    assert not list(tmp_path.glob(".*.tmp")) and list(tmp_path.iterdir()) == [path]  # replaced


def test_writer_at_interval_zero_writes_every_beat_and_drops_nan(tmp_path: Path) -> None:
    path = tmp_path / "walker_000.beat"
    beat = Heartbeat(path, 0, 50, interval_s=0.0)
    for step in (10, 20, 30):
        beat(step, None, float("nan") if step == 30 else 0.1)
        assert read_beat(path).step == step
    assert read_beat(path).sigma is None


def test_reader_skips_missing_partial_and_foreign_files(tmp_path: Path) -> None:
    Heartbeat(tmp_path / "walker_000.beat", 0, 50, 0.0)(20, None, 0.1)
    (tmp_path / "walker_001.beat").write_text('{"walker": 1, "st')          # torn write
    (tmp_path / "walker_002.beat").write_text(json.dumps({"walker": 2}))  # not a beat
    (tmp_path / "notes.beat").write_text("{}")
    assert read_beat(tmp_path / "walker_009.beat") is None
    assert list(read_beats(tmp_path)) == [0]


def test_tracker_sums_steps_counts_finished_walkers_whole_and_reports_on_change() -> None:
    calls: list[tuple[int, int, dict]] = []
    tracker = Tracker(3, 100, lambda done, total, **facts: calls.append((done, total, facts)))
    tracker.beat(Beat(0, 30, 100, 300.0, 0.1))
    tracker.beat(Beat(1, 50, 100, 500.0, 0.4))
    tracker.beat(Beat(1, 50, 100, 500.0, 0.4))              # no progress: no report
    tracker.beat(Beat(1, 40, 100, 500.0, 0.4))              # an older file read late: ignored
    tracker.beat(Beat(7, 10, 100))                          # no such walker
    assert calls == [(30, 300, {"T_K": 300.0, "sigma": 0.1}),
                     (80, 300, {"T_K": 400.0, "sigma": 0.4})]
    tracker.beat(Beat(2, 20, 100, done=True))               # stopped early: all its steps count
    tracker.finish(0)
    tracker.beat(Beat(0, 60, 100, 300.0, 0.9))              # beats after the end are ignored
    assert [c[0] for c in calls[2:]] == [180, 250]
    assert calls[-1][2] == {"T_K": 500.0, "sigma": 0.4}     # facts of the walker still running
    tracker.finish(1)
    assert calls[-1][:2] == (300, 300)


def test_watcher_polls_files_written_by_another_process_and_cleans_up(tmp_path: Path) -> None:
    calls: list[int] = []
    tracker = Tracker(2, 50, lambda done, total, **facts: calls.append(done))
    with Watcher(tmp_path, tracker, poll_s=3600.0):
        # a file as a worker process writes it (no in-process listener for this pid)
        (tmp_path / "walker_001.beat").write_text(json.dumps(
            {"walker": 1, "step": 20, "total": 50, "T_K": 310.0, "sigma": 0.2, "done": False}))
        tracker.poll(tmp_path)
    assert calls == [20] and not list(tmp_path.glob("*.beat"))


def _plan(steps: int, walkers: int, every: int = 5):
    explore = ExploreConfig(walkers=walkers, timestep_fs=2.0, monitor=MonitorConfig(every_steps=every),
                            stages=(StageConfig(temperature_K=300.0, steps=steps),))
    return walker_plan(explore, SelectConfig(trust=TrustConfig(lo=0.05, hi=10.0)), 1)


def test_run_walkers_reports_md_steps_in_process(tmp_path: Path, monkeypatch, make_factory) -> None:
    monkeypatch.setattr(heartbeat, "INTERVAL_S", 0.0)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    calls: list[tuple[int, int, dict]] = []

    class Synchronous:              # the inprocess engine: runs at submission
        def submit(self, fn, *args):
            from concurrent.futures import Future

            future = Future()
            future.set_result(fn(*args))
            return future

    result = run_walkers([atoms], _plan(40, 2), make_factory(atoms, slope=0.1), Synchronous(), 1,
                         tmp_path, progress=lambda d, t, **f: calls.append((d, t, f)))
    done = [c[0] for c in calls]
    assert all(c[1] == 80 for c in calls) and done == sorted(done) and done[-1] == 80
    assert set(range(5, 41, 5)) <= set(done)               # walker 0, beat by beat
    assert {45, 60, 75} <= set(done)                        # walker 1 on top of walker 0's 40
    assert all(c[2]["T_K"] > 0 and c[2]["sigma"] > 0 for c in calls)
    assert not list(tmp_path.glob("*.beat")) and len(result.walkers) == 2


def test_run_walkers_reports_through_the_files_of_a_thread_pool(tmp_path: Path, monkeypatch,
                                                                make_factory) -> None:
    monkeypatch.setattr(heartbeat, "INTERVAL_S", 0.0)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    calls: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        run_walkers([atoms], _plan(30, 3), make_factory(atoms, slope=0.1), pool, 2, tmp_path,
                    progress=lambda d, t, **f: calls.append(d))
    assert calls == sorted(calls) and calls[-1] == 90 and len(calls) > 3


def test_run_walkers_hears_walkers_in_other_processes(tmp_path: Path, monkeypatch, make_factory) -> None:
    """Walkers in spawned worker processes (as on a Dask cluster) reach the bar through their
    heartbeat files alone: step counts that are no multiple of a walker's steps."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.setattr(heartbeat, "INTERVAL_S", 0.0)
    monkeypatch.setattr(heartbeat, "POLL_S", 0.01)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    calls: list[int] = []
    steps = 500
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        run_walkers([atoms], _plan(steps, 2, every=10), make_factory(atoms, slope=0.1), pool, 3,
                    tmp_path, progress=lambda d, t, **f: calls.append(d))
    assert calls == sorted(calls) and calls[-1] == 2 * steps
    assert any(d % steps for d in calls), calls
