"""Helpers of the subprocess tests: liveness of pids (zombies count as dead), polling."""

from __future__ import annotations

import time
from pathlib import Path


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
