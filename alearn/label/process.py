"""Run a reference code as a child process that can never outlive its parent.

The child is started through a tiny ``sh`` guard in its own session (so it leads a new process
group).  The guard gets a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``), on which
it kills its whole process group with SIGKILL; launchers (``srun``, ``mpirun``) and the ranks
they start therefore die with the worker even when the worker is killed with SIGKILL.  A
timeout or a cancellation kills the whole process group directly.

Limits: the parent-death signal fires when the *thread* that started the child ends, so the
child is started and waited for by the same thread (:func:`run_command` blocks).  A descendant
that starts its own session escapes the process group (no MPI launcher we know does this).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.05
#: kills the whole process group when the guard is told its parent died
_GUARD = ('trap "kill -KILL 0" TERM HUP INT; "$@" & child=$!; wait $child; status=$?; '
          'exit $status')


@dataclass(frozen=True)
class ProcessResult:
    """How a child process ended."""

    returncode: int | None
    elapsed_s: float
    timed_out: bool = False
    cancelled: bool = False


def arm_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent (thread) dies (Linux);
    whether it could be armed."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        prctl = ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def _pdeathsig_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` that arms the parent-death signal (Linux only; ``None`` elsewhere)."""
    if ctypes.util.find_library("c") is None or not hasattr(os, "getppid"):
        return None
    parent = os.getpid()

    def arm() -> None:
        arm_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def kill_group(pgid: int) -> None:
    """SIGKILL every process of a process group (gone already: nothing to do)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(argv: Sequence[str], cwd: Path, *, stdout: Path, stderr: Path,
                env: Mapping[str, str] | None = None, timeout_s: float | None = None,
                should_stop: Callable[[], bool] | None = None) -> ProcessResult:
    """Run ``argv`` in ``cwd`` and wait; kill its process group on timeout or ``should_stop()``."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.monotonic()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(["/bin/sh", "-c", _GUARD, "alearn-guard", *argv], cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env,
                                start_new_session=True, preexec_fn=_pdeathsig_setter())
        try:
            return _wait(proc, start, timeout_s, should_stop)
        finally:
            kill_group(proc.pid)  # leftovers of a finished code, or everything on error
            proc.wait()


def _wait(proc: subprocess.Popen, start: float, timeout_s: float | None,
          should_stop: Callable[[], bool] | None) -> ProcessResult:
    deadline = None if timeout_s is None else start + timeout_s
    while True:
        try:
            code = proc.wait(timeout=_POLL_S)
            return ProcessResult(code, time.monotonic() - start)
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            kill_group(proc.pid)
            proc.wait()
            return ProcessResult(None, now - start, timed_out=True)
        if should_stop is not None and should_stop():
            kill_group(proc.pid)
            proc.wait()
            return ProcessResult(None, now - start, cancelled=True)
