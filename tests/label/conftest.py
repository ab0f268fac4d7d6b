"""Fixtures of the label tests: the fakes folder on PYTHONPATH and PATH, stores, helpers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))


@pytest.fixture(autouse=True)
def _fakes_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask workers and child processes import ``fakecalc`` too, and find the fake launchers."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{FAKES}{os.pathsep}{path}" if path else str(FAKES))
    monkeypatch.setenv("PATH", f"{FAKES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def store(tmp_path: Path):
    from fakestore import FakeStore

    return FakeStore(tmp_path / "store.db")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, already dead but not reaped, counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until(condition, timeout_s: float = 20.0, poll_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return condition()


def recorded_pids(job_dir: Path) -> list[int]:
    """Every pid the fake code and fake launchers wrote under a job directory."""
    pids = []
    for name in ("pids.txt", "launcher_pids.txt"):
        for path in job_dir.rglob(name):
            pids += [int(x) for x in path.read_text().split()]
    return pids
