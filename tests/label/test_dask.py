"""The Dask LocalCluster engine: labelling works, and a worker killed mid-calculation loses nothing."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from ase import Atoms
from fakecalc import FakeCalculator
from proctools import alive, recorded_pids, wait_until

from alearn.config.dispatch import DispatchConfig, Profile
from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import make_engine
from alearn.label.jobs import JobDir

pytestmark = pytest.mark.timeout(180)


def dimers(n: int) -> list[Atoms]:
    return [Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.0 + 0.05 * i]]) for i in range(n)]


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@pytest.fixture(scope="module")
def local_engine():
    with make_engine(DispatchConfig(engine="local", workers=2)) as engine:
        yield engine


def test_local_cluster_workers_have_one_blas_thread(local_engine) -> None:
    env = local_engine.client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert set(env.values()) == {"1"} and len(env) == 2
    info = local_engine.client.scheduler_info()
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])


def test_labels_arrive_through_dask(tmp_path: Path, store, local_engine) -> None:
    calc = FakeCalculator(FakeCalculator.Params(script=("exit",)))
    report = label_structures(dimers(4), calc, Profile(), store, engine=local_engine,
                              jobs_dir=tmp_path / "jobs", max_concurrent=2)
    assert [o.status for o in report.outcomes] == [Status.STORED] * 4
    assert all(o.attempts == 2 for o in report.outcomes)
    assert store.count() == 4


def test_killing_a_worker_mid_calculation(tmp_path: Path, store, local_engine) -> None:
    """The result still arrives, two attempts are recorded, and no process is left behind."""
    calc = FakeCalculator(FakeCalculator.Params(sleep_s=2.0))
    (atoms,) = dimers(1)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("report", label_structures(
        [atoms], calc, Profile(), store, engine=local_engine, jobs_dir=tmp_path / "jobs")))
    thread.start()
    assert wait_until(lambda: list((tmp_path / "jobs").glob("*/attempt_01/pids.txt")), 60.0)
    first = next((tmp_path / "jobs").glob("*/attempt_01"))
    code_pid = int((first / "pids.txt").read_text().split()[0])
    guard_pid = parent_of(code_pid)
    worker_pid = parent_of(guard_pid)
    assert worker_pid in local_engine.client.run(os.getpid).values()
    os.kill(worker_pid, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    (outcome,) = box["report"].outcomes
    assert outcome.status is Status.STORED
    job = JobDir(first.parent)
    assert [r.status for r in job.records()] == ["interrupted", "ok"]
    assert store.count() == 1
    pids = recorded_pids(first) + [guard_pid]
    assert wait_until(lambda: not any(alive(p) for p in pids), 10.0)
    assert wait_until(lambda: len(local_engine.client.scheduler_info()["workers"]) == 2, 60.0)


def test_scheduler_engine_connects_to_a_running_scheduler(tmp_path: Path, store,
                                                         local_engine) -> None:
    address = local_engine.client.scheduler.address
    config = DispatchConfig(engine="scheduler", scheduler_address=address)
    with make_engine(config) as engine:
        report = label_structures(dimers(2), FakeCalculator(FakeCalculator.Params()), Profile(),
                                  store, engine=engine, jobs_dir=tmp_path / "jobs",
                                  max_concurrent=2)
    assert [o.status for o in report.outcomes] == [Status.STORED] * 2
    assert len(local_engine.client.scheduler_info()["workers"]) == 2  # workers outlive us
