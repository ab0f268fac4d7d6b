"""In-process calculators, run isolated: each calculation in a process of its own, forked from a
small, warm helper (a *zygote*), so a crash, a hang or an ``os._exit`` of the code never takes
its worker — or the controller — down, at a few milliseconds per calculation.

The zygote is ``python -m alearn.label.isolated``, started once per host process (a Dask
worker, or the controller on the in-process engine) and fed requests over a pipe.  It is
single-threaded and never computes itself: it unpickles the calculator (importing its modules
once, so every later calculation starts warm) and forks one child per calculation.  The child

* starts its own session (a timeout or a cancel kills its whole process group),
* dies with the zygote (parent-death signal), which dies with its host (end of the request
  pipe), so nothing outlives a killed worker or controller,
* volunteers as the out-of-memory killer's first choice (``oom_score_adj`` 1000),
* writes stdout/stderr to the attempt directory and an exception, if any, to
  :data:`ERROR_FILE`, then exits: 0 done, 3 an exception, anything else (a signal, another
  status, no result) a *crash* of the calculation itself.

The host side is :func:`run_isolated`; it blocks until the child ends, is killed at its
deadline, or is cancelled (``should_stop`` polled every 50 ms).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.files import write_json_atomic
from alearn.label.process import arm_parent_death_signal, kill_group
from alearn.label.protocol import STDERR, STDOUT, CalculationFailed

#: what the child writes when the calculator raised: {"type", "message", "kind"?, "user_error"}
ERROR_FILE = "error.json"
#: exit status of a child whose calculator raised (the exception is in ERROR_FILE)
RAISED = 3
_POLL_S = 0.05
_HEADER = struct.Struct("<Q")
#: set in the zygote and its children: isolation never nests (a plugin module that starts
#: calculations when imported would otherwise fork zygotes without end)
_INSIDE = "ALEARN_ISOLATED_HELPER"


@dataclass(frozen=True)
class IsolatedResult:
    """How an isolated calculation ended (``status``: the child's exit code, negative for a
    signal, ``None`` when it was killed for a timeout or a cancel)."""

    status: int | None
    elapsed_s: float
    timed_out: bool = False
    cancelled: bool = False


# host side -----------------------------------------------------------------------------------

class Zygote:
    """The helper process of one host process (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def _ensure(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "alearn.label.isolated"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
                start_new_session=True, bufsize=0)
        return self._proc

    def run(self, calculator: Any, workdir: Path, env: Mapping[str, str], timeout_s: float | None,
            should_stop: Callable[[], bool] | None) -> IsolatedResult:
        with self._lock:
            proc = self._ensure()
            start = time.monotonic()
            _send(proc.stdin.fileno(), ("run", pickle.dumps(calculator), str(workdir), dict(env),
                                        list(sys.path)))
            reply = _receive(proc.stdout.fileno())
            if reply[0] == "error":
                raise CalculationFailed("invalid", f"the calculator cannot be run isolated: {reply[1]}")
            pid = int(reply[1])
            return _wait_for(proc, pid, start, timeout_s, should_stop)


def _wait_for(proc: subprocess.Popen, pid: int, start: float, timeout_s: float | None,
              should_stop: Callable[[], bool] | None) -> IsolatedResult:
    deadline = None if timeout_s is None else start + timeout_s
    stop: dict[str, bool] = {}
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], _POLL_S)
        if ready:
            message = _receive(proc.stdout.fileno())
            status = os.waitstatus_to_exitcode(int(message[2]))
            if stop:
                return IsolatedResult(None, time.monotonic() - start, **stop)
            return IsolatedResult(status, time.monotonic() - start)
        now = time.monotonic()
        if not stop and deadline is not None and now >= deadline:
            stop = {"timed_out": True}
        elif not stop and should_stop is not None and should_stop():
            stop = {"cancelled": True}
        if stop:
            kill_group(pid)
            try:
                os.kill(pid, signal.SIGKILL)  # in case it had not yet started its session
            except ProcessLookupError:
                pass


_ZYGOTES: dict[int, Zygote] = {}
_ZYGOTES_LOCK = threading.Lock()


def zygote() -> Zygote:
    """This process's zygote (one per process id: a forked copy of a host gets its own)."""
    if os.environ.get(_INSIDE):
        raise RuntimeError("an isolated calculation cannot start another isolated calculation")
    with _ZYGOTES_LOCK:
        found = _ZYGOTES.get(os.getpid())
        if found is None:
            found = _ZYGOTES[os.getpid()] = Zygote()
        return found


def run_isolated(calculator: Any, workdir: Path, *, env: Mapping[str, str],
                 timeout_s: float | None, should_stop: Callable[[], bool] | None = None
                 ) -> IsolatedResult:
    """Run ``calculator.run_in_process(workdir)`` in a forked child (see module docstring)."""
    return zygote().run(calculator, workdir, env, timeout_s, should_stop)


# framing -------------------------------------------------------------------------------------

def _send(fd: int, message: tuple) -> None:
    payload = pickle.dumps(message)
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd: int, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            raise CalculationFailed("infrastructure", "the isolation helper process ended "
                                    "unexpectedly")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(fd: int) -> tuple:
    """One message; unbuffered, so ``select`` on the descriptor sees every message."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


# zygote side ---------------------------------------------------------------------------------

def _serve(requests: int, replies: int) -> None:
    """Fork one child per request; report each child's exit; on end of input kill them all."""
    children: set[int] = set()
    warm: set[type] = set()
    wake = _child_exit_alarm()
    while True:
        for pid, status in _reaped():
            children.discard(pid)
            _send(replies, ("exited", pid, status))
        ready, _, _ = select.select([requests, wake], [], [], _POLL_S)
        if wake in ready:
            os.read(wake, 4096)
        if requests not in ready:
            continue
        try:
            _, blob, workdir, env, path = _receive(requests)
        except CalculationFailed:  # the host closed the pipe: it ended or died
            for pid in children:
                kill_group(pid)
            return
        sys.path[:] = path
        try:
            calculator = pickle.loads(blob)
        except Exception as exc:  # noqa: BLE001 - reported to the host as a failure
            _send(replies, ("error", f"{type(exc).__name__}: {exc}"))
            continue
        if type(calculator) not in warm:
            warm.add(type(calculator))
            warm_up = getattr(calculator, "warm_up", None)
            if warm_up is not None:
                warm_up()
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(calculator, Path(workdir), env, requests, replies, wake)
        children.add(pid)
        _send(replies, ("started", pid))


def _child_exit_alarm() -> int:
    """A descriptor that becomes readable whenever a child exits (SIGCHLD wakes ``select``)."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.signal(signal.SIGCHLD, lambda *args: None)
    signal.set_wakeup_fd(write_end)
    return read_end


def _reaped() -> list[tuple[int, int]]:
    out = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return out
        if pid == 0:
            return out
        out.append((pid, status))


def _child(calculator: Any, workdir: Path, env: Mapping[str, str], *pipes: int) -> None:
    """The body of one calculation's process; never returns."""
    code = RAISED
    try:
        parent = os.getppid()
        os.setsid()
        arm_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent:  # the zygote died before the signal was armed
            os._exit(1)
        for fd in pipes:
            os.close(fd)
        _volunteer_for_the_oom_killer()
        os.chdir(workdir)
        _redirect(workdir)
        os.environ.update(env)
        code = _compute(calculator, workdir)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _compute(calculator: Any, workdir: Path) -> int:
    from alearn.errors import UserError

    try:
        calculator.run_in_process(workdir)
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the host
        error = {"type": type(exc).__name__, "message": str(exc),
                 "user_error": isinstance(exc, UserError)}
        if isinstance(exc, CalculationFailed):
            error.update(kind=exc.kind.value, message=exc.reason)
        write_json_atomic(workdir / ERROR_FILE, error, durable=False)
        return RAISED
    return 0


def _redirect(workdir: Path) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, name in ((1, STDOUT), (2, STDERR)):
        target = os.open(workdir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.close(null)


def _volunteer_for_the_oom_killer() -> None:
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


def main() -> None:
    """Entry of the zygote process: serve requests on stdin, replies on stdout."""
    os.environ[_INSIDE] = "1"
    replies = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the replies
    _serve(0, replies)


if __name__ == "__main__":
    main()
