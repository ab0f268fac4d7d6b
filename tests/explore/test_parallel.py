"""Walkers on parallel engines: per-walker seeds make the frames independent of the number of
workers and of the order in which walkers finish; a rerun never mixes in old walker files."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore.run import INDEX, ExplorationResult, run_walkers, walker_plan, walker_seeds
from alearn.label.engines import InProcessEngine

WALKERS = 3


def plan(walkers: int = WALKERS) -> Any:
    explore = ExploreConfig(walkers=walkers, timestep_fs=2.0, monitor=MonitorConfig(every_steps=5),
                            stages=(StageConfig(temperature_K=600.0, steps=20),))
    return walker_plan(explore, SelectConfig(trust=TrustConfig(lo=0.1, hi=0.6)), 1)


class LastFirstEngine:
    """Runs nothing at submission; each ``wait`` finishes the most recently submitted walker
    still pending, so walkers complete in reverse order."""

    def __init__(self) -> None:
        self.queue: list[tuple[concurrent.futures.Future, Callable[..., Any], tuple]] = []

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.queue.append((future, fn, args))
        return future

    def wait(self, futures: list, timeout_s: float) -> list:
        future, fn, args = self.queue.pop()
        future.set_result(fn(*args))
        return [f for f in futures if f.done()]


def arrays(result: ExplorationResult) -> list[dict[str, bytes]]:
    out = []
    for outcome in result.walkers:
        with np.load(result.out_dir / outcome.file) as data:
            out.append({k: data[k].tobytes() for k in data.files})
    return out


def run(engine: Any, cluster: Any, make_factory: Any, out: Path, seed: int = 11) -> tuple[ExplorationResult, list[int]]:
    finished: list[int] = []
    result = run_walkers([cluster], plan(), make_factory(cluster), engine, seed, out,
                         on_done=lambda outcome: finished.append(outcome.walker))
    return result, finished


def test_walker_seeds_depend_on_the_base_seed_and_the_walker_index_only() -> None:
    five, three = walker_seeds(42, 5), walker_seeds(42, 3)
    assert five[:3] == three and len(set(five)) == 5
    assert walker_seeds(43, 3) != three
    assert all(0 <= s < 2**63 for s in five)
    assert walker_seeds(np.random.default_rng(1), 2) == walker_seeds(np.random.default_rng(1), 2)


def test_frames_identical_on_one_or_two_workers_and_in_any_completion_order(tmp_path, cluster,
                                                                            make_factory) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(1, mp_context=context) as engine:
        one, _ = run(engine, cluster, make_factory, tmp_path / "one")
    with ProcessPoolExecutor(2, mp_context=context) as engine:
        two, _ = run(engine, cluster, make_factory, tmp_path / "two")
    reverse, order = run(LastFirstEngine(), cluster, make_factory, tmp_path / "reverse")
    here, in_order = run(InProcessEngine(), cluster, make_factory, tmp_path / "here")
    assert order == [2, 1, 0] and in_order == [0, 1, 2]
    assert one.walkers == two.walkers == reverse.walkers == here.walkers
    assert arrays(one) == arrays(two) == arrays(reverse) == arrays(here)
    assert arrays(one)[0]["positions"] != arrays(one)[1]["positions"]    # walkers differ
    other, _ = run(InProcessEngine(), cluster, make_factory, tmp_path / "other", seed=12)
    assert arrays(other)[0]["positions"] != arrays(one)[0]["positions"]


def test_rerun_removes_the_files_of_an_interrupted_exploration(tmp_path, cluster, make_factory) -> None:
    (tmp_path / "walker_007.npz").write_bytes(b"from an earlier run")
    (tmp_path / INDEX).write_text(json.dumps({"stale": True}))
    result, _ = run(InProcessEngine(), cluster, make_factory, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("walker_*.npz")) == [w.file for w in result.walkers]
    assert ExplorationResult.load(tmp_path) == result
