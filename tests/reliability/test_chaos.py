"""The chaos suite: random SIGKILLs of the controller and of Dask workers (many timed to land
inside a reference calculation), on top of 30 % injected faults of every kind, must end with
exactly the data of an uninterrupted run — the same outcome for every structure, the same
stored rows — and leave no process behind.

The default suite runs a short version (the in-process engine, a few kills); ``-m slow`` runs
the full one (at least 20 kills per engine setting, Dask workers included, and whole
campaigns through ``alearn run``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from proctools import alive, wait_until

from alearn.label.jobs import JobDir

HERE = Path(__file__).parent
DRIVER = HERE / "chaos_driver.py"
N = 24

pytestmark = pytest.mark.timeout(1800)


@dataclass
class Chaos:
    """What a chaos run did."""

    kills: int = 0
    inside: int = 0       # kills that landed while a calculation was running
    workers: int = 0      # of them, kills of a Dask worker rather than the controller
    restarts: int = 0


FAKES = HERE.parent / "fakes"


def env(root: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "OMP_NUM_THREADS": "1", "FAULTASE_MARKERS": str(root / "markers"),
            "FAULTASE_PIDS": str(root / "pids"),
            "PYTHONPATH": f"{FAKES}{os.pathsep}{path}" if path else str(FAKES)}


def start(root: Path, engine: str, isolation: str) -> subprocess.Popen:
    (root / "workers.json").unlink(missing_ok=True)
    return subprocess.Popen([sys.executable, str(DRIVER), str(root), engine, isolation, str(N)],
                            env=env(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def uninterrupted(root: Path, engine: str = "inprocess", isolation: str = "isolated") -> dict:
    root.mkdir(parents=True, exist_ok=True)
    proc = start(root, engine, isolation)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads((root / "summary.json").read_text())


def computing(root: Path) -> list[int]:
    """Pids of the processes computing right now (written by the faulty EMT when it starts)."""
    folder = root / "pids"
    return [int(p.name) for p in folder.iterdir() if alive(int(p.name))] if folder.is_dir() else []


def chaos_run(root: Path, engine: str, isolation: str, kills: int, seed: int,
              worker_share: float = 0.0) -> Chaos:
    """Start the driver, kill it (or a worker) ``kills`` times at random moments — half of them
    while a calculation runs — restarting it each time the controller died; then let it
    finish."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    record = Chaos()
    proc = start(root, engine, isolation)
    while record.kills < kills:
        if rng.random() < 0.5:
            wait_until(lambda: computing(root) or proc.poll() is not None, 60.0, 0.01)
        else:
            time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is not None:  # it finished before the planned kills were all made
            break
        inside = bool(computing(root))
        workers = json.loads((root / "workers.json").read_text()) \
            if (root / "workers.json").exists() else []
        if workers and rng.random() < worker_share:
            victim = rng.choice(workers)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            record.workers += 1
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # the controller and its Dask cluster
            proc.wait()
            assert wait_until(lambda: not computing(root), 20.0), "a calculation outlived its controller"
            record.restarts += 1
            proc = start(root, engine, isolation)
        record.kills += 1
        record.inside += inside
    _, err = proc.communicate(timeout=900)
    if proc.returncode != 0:  # killed between the last kill and the finish line: once more
        proc = start(root, engine, isolation)
        _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert wait_until(lambda: not computing(root), 20.0), "orphan calculation processes"
    return record


def attempts_by_status(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in (root / "jobs").iterdir():
        if job.is_dir():
            for record in JobDir(job).records():
                counts[record.status] = counts.get(record.status, 0) + 1
    return counts


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:
    summary = uninterrupted(tmp_path_factory.mktemp("uninterrupted"))
    kinds = {tuple(o) for o in summary["outcomes"]}
    assert ("stored", "") in kinds and ("failed", "invalid") in kinds  # faults did strike
    return summary


def test_short_chaos_of_the_in_process_engine(reference: dict, tmp_path: Path) -> None:
    chaos = chaos_run(tmp_path / "run", "inprocess", "isolated", kills=5, seed=1)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary == reference
    counts = attempts_by_status(tmp_path / "run")
    assert counts.get("interrupted", 0) >= chaos.inside >= 1
    assert "crashed" in counts  # the injected exits and segfaults


@pytest.mark.slow
@pytest.mark.parametrize("engine, isolation, worker_share", [
    ("inprocess", "isolated", 0.0),
    ("local", "isolated", 0.5),
    ("local", "inline", 0.0),
])
def test_chaos_of_every_engine(reference: dict, tmp_path: Path, engine: str, isolation: str,
                               worker_share: float) -> None:
    if isolation == "inline":  # without isolation the driver injects fewer kinds of fault
        reference = uninterrupted(tmp_path / "uninterrupted", engine, isolation)
    chaos = chaos_run(tmp_path / "run", engine, isolation, kills=22, seed=7,
                      worker_share=worker_share)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary == reference
    assert chaos.kills >= 20 and chaos.inside >= 5
    if worker_share:
        assert chaos.workers >= 5
    print(f"{engine}/{isolation}: {chaos} attempts {attempts_by_status(tmp_path / 'run')}")
