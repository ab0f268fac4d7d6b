"""Walker heartbeats: how far each walker of a running exploration has got, for the progress bar.

One seam for every engine.  A walker (wherever it runs: in this process, a Dask worker, a pilot
job) writes ``walker_NNN.beat`` beside its frames file at judged frames (every ``[explore.monitor]
every_steps`` steps), at most once per :data:`INTERVAL_S` seconds, by atomic replace (no fsync):
its stage step, the stage's total steps, the current temperature and the selection measure of
the frame.  The controller's :class:`Watcher` polls those files in a thread and feeds a
:class:`Tracker`, which turns them into ``progress(steps done, walkers × steps, T_K=…, sigma=…)``.
A walker running in the controller's own process (the ``inprocess`` engine runs walkers
synchronously at submission) also hands each beat straight to the tracker, so the bar moves even
between polls.  A missing, partial or unreadable beat file is simply not counted yet.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from alearn.files import write_text_atomic

#: a walker writes its heartbeat at most once per this many seconds (read at ``run_walkers``
#: time and carried by each task to its worker; 0 writes at every judged frame)
INTERVAL_S = 0.5
#: how often the controller reads the heartbeat files
POLL_S = 0.25
SUFFIX = ".beat"

#: progress(done, total, **facts)
Report = Callable[..., None]


@dataclass(frozen=True)
class Beat:
    """One walker's state: ``step`` of ``total`` stage steps; ``done`` once it has finished."""

    walker: int
    step: int
    total: int
    T_K: float | None = None
    sigma: float | None = None       # the selection measure of the last judged frame
    done: bool = False


def beat_path(frames: Path) -> Path:
    """The heartbeat file of the walker whose frames go to ``frames`` (``walker_003.npz`` →
    ``walker_003.beat``)."""
    return frames.with_suffix(SUFFIX)


#: directory → (pid, tracker) of explorations watched by this process (in-process delivery)
_LISTENERS: dict[str, tuple[int, "Tracker"]] = {}


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class Heartbeat:
    """The writer, inside the walker: ``beat(step, atoms, sigma)`` at judged frames."""

    def __init__(self, path: Path, walker: int, total: int, interval_s: float) -> None:
        self.path, self.walker, self.total, self.interval_s = Path(path), walker, total, interval_s
        self._last = -math.inf

    def __call__(self, step: int, atoms: Any = None, sigma: float | None = None, *,
                 done: bool = False) -> None:
        now = time.monotonic()
        if not done and now - self._last < self.interval_s:
            return
        self._last = now
        temperature = None
        if atoms is not None and len(atoms) and atoms.get_momenta().any():
            temperature = _finite(atoms.get_temperature())
        beat = Beat(self.walker, int(step), self.total, temperature, _finite(sigma), done)
        try:   # atomic: a reader sees a whole beat or none; no fsync (a courtesy, not data)
            write_text_atomic(self.path, json.dumps(asdict(beat)), durable=False)
        except OSError:          # progress is a courtesy: never fail a walker over it
            pass
        listener = _LISTENERS.get(str(self.path.parent))
        if listener is not None and listener[0] == os.getpid():
            try:
                listener[1].beat(beat)
            except Exception:  # noqa: BLE001 - a display error must not stop the walker
                pass


def read_beat(path: Path) -> Beat | None:
    """The beat in ``path``; ``None`` when it is missing or not (yet) a whole beat."""
    try:
        data = json.loads(path.read_text())
        return Beat(int(data["walker"]), int(data["step"]), int(data["total"]),
                    _finite(data.get("T_K")), _finite(data.get("sigma")), bool(data.get("done")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_beats(directory: Path) -> dict[int, Beat]:
    """The readable beats of the walkers in ``directory``, by walker."""
    beats = {}
    for path in sorted(Path(directory).glob(f"walker_*{SUFFIX}")):
        beat = read_beat(path)
        if beat is not None:
            beats[beat.walker] = beat
    return beats


def clear_beats(directory: Path) -> None:
    for path in Path(directory).glob(f"walker_*{SUFFIX}"):
        path.unlink(missing_ok=True)


class Tracker:
    """Steps done over all walkers (a finished walker counts all its steps, however early it
    stopped) and the latest facts: mean temperature and largest measure over the walkers still
    running.  Reports only when the step count moves; safe to feed from several threads."""

    def __init__(self, walkers: int, steps: int, report: Report) -> None:
        self.walkers, self.steps, self.report = walkers, steps, report
        self.total = walkers * steps
        self._step: dict[int, int] = {}
        self._facts: dict[int, Beat] = {}
        self._finished: set[int] = set()
        self._reported = -1
        self._lock = threading.Lock()

    def beat(self, beat: Beat) -> None:
        with self._lock:
            if beat.walker in self._finished or not 0 <= beat.walker < self.walkers:
                return
            if beat.done:
                self._finish(beat.walker)
            else:
                self._step[beat.walker] = max(self._step.get(beat.walker, 0),
                                              min(beat.step, self.steps))
                self._facts[beat.walker] = beat
            self._emit()

    def finish(self, walker: int) -> None:
        """Walker ``walker`` has returned its outcome."""
        with self._lock:
            self._finish(walker)
            self._emit()

    def _finish(self, walker: int) -> None:
        self._finished.add(walker)
        self._step[walker] = self.steps
        self._facts.pop(walker, None)

    @property
    def done(self) -> int:
        return sum(self._step.values())

    def facts(self) -> dict[str, float]:
        temperatures = [b.T_K for b in self._facts.values() if b.T_K is not None]
        sigmas = [b.sigma for b in self._facts.values() if b.sigma is not None]
        facts = {}
        if temperatures:
            facts["T_K"] = sum(temperatures) / len(temperatures)
        if sigmas:
            facts["sigma"] = max(sigmas)
        return facts

    def _emit(self) -> None:
        done = self.done
        if done != self._reported:
            self._reported = done
            self.report(done, self.total, **self.facts())

    def poll(self, directory: Path) -> None:
        for beat in read_beats(directory).values():
            self.beat(beat)


class Watcher:
    """``with Watcher(directory, tracker):`` polls ``directory``'s heartbeat files every
    :data:`POLL_S` seconds in a daemon thread and takes in-process beats directly; on exit it
    stops, reads once more and removes the heartbeat files."""

    def __init__(self, directory: Path, tracker: Tracker, poll_s: float | None = None) -> None:
        self.directory, self.tracker = Path(directory).resolve(), tracker
        self.poll_s = POLL_S if poll_s is None else poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alearn-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.tracker.poll(self.directory)
            except Exception:  # noqa: BLE001 - a display error must not stop the exploration
                pass

    def __enter__(self) -> "Watcher":
        clear_beats(self.directory)
        _LISTENERS[str(self.directory)] = (os.getpid(), self.tracker)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        _LISTENERS.pop(str(self.directory), None)
        clear_beats(self.directory)


__all__ = ["Beat", "Heartbeat", "INTERVAL_S", "POLL_S", "Tracker", "Watcher", "beat_path",
           "clear_beats", "read_beat", "read_beats"]
