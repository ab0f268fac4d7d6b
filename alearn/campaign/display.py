"""What ``alearn run`` shows while it works: live bars on a terminal, one line per event elsewhere.

:func:`make_display` picks :class:`LiveDisplay` (rich bars with ETA and the current loss,
temperature or uncertainty; bars stay on screen when their stage ends) for a terminal,
:class:`PlainDisplay` (a line per event, no control characters) for logs and pipes, and
:class:`QuietDisplay` for ``--quiet``.  Stages get a :class:`Bar` from :meth:`Display.bar` and
call ``advance`` / ``update`` with keyword facts (``loss=0.012``, ``T_K=310``), shown beside it.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, TextIO

#: how facts are written beside a bar: key → (label, format)
FACTS: dict[str, tuple[str, str]] = {
    "loss": ("loss", "{:.4g}"), "valid": ("valid", "{:.4g}"), "T_K": ("T", "{:.0f} K"),
    "sigma": ("σ", "{:.3g}"), "walkers": ("walkers", "{}"), "failed": ("failed", "{}"),
    "stored": ("stored", "{}"),
}
PLAIN_STEPS = 10      # a plain display writes a bar's line at each tenth of its total


def format_facts(facts: dict[str, Any]) -> str:
    """``loss 0.012 · T 310 K`` from keyword facts (unknown keys as ``key value``)."""
    parts = []
    for key, value in facts.items():
        if value is None:
            continue
        label, fmt = FACTS.get(key, (key, "{}"))
        parts.append(f"{label} {fmt.format(value)}")
    return " · ".join(parts)


class Bar(Protocol):
    def advance(self, n: int = 1, **facts: Any) -> None: ...
    def update(self, completed: int, **facts: Any) -> None: ...
    def close(self) -> None: ...


class Display(Protocol):
    def iteration(self, number: int, total: int | None) -> None: ...
    def stage(self, name: str) -> None: ...
    def bar(self, description: str, total: int, unit: str = "") -> Bar: ...
    def event(self, text: str) -> None: ...
    def close(self) -> None: ...


class _Header:
    """``iteration k of N`` bookkeeping shared by the displays."""

    number: int | None = None
    total: int | None = None

    def prefix(self) -> str:
        if self.number is None:
            return ""
        of = f" of {self.total}" if self.total else ""
        return f"iteration {self.number}{of}"

    def label(self, description: str) -> str:
        """``description`` without a leading ``iteration k: `` the header already says."""
        head = f"iteration {self.number}: "
        return description[len(head):] if self.number is not None and description.startswith(head) else description


class QuietDisplay(_Header):
    """Shows nothing."""

    def iteration(self, number: int, total: int | None) -> None:
        self.number, self.total = number, total

    def stage(self, name: str) -> None:
        pass

    def bar(self, description: str, total: int, unit: str = "") -> "QuietBar":
        return QuietBar()

    def event(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class QuietBar:
    def advance(self, n: int = 1, **facts: Any) -> None:
        pass

    def update(self, completed: int, **facts: Any) -> None:
        pass

    def close(self) -> None:
        pass


class PlainDisplay(_Header):
    """One line per event on a stream that is no terminal (logs, pipes, CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        prefix = self.prefix()
        self.stream.write(f"{prefix}: {text}\n" if prefix else f"{text}\n")
        self.stream.flush()

    def iteration(self, number: int, total: int | None) -> None:
        self.number, self.total = number, total

    def stage(self, name: str) -> None:
        self._line(name)

    def bar(self, description: str, total: int, unit: str = "") -> "PlainBar":
        return PlainBar(self._line, self.label(description), total, unit)

    def event(self, text: str) -> None:
        self._line(text)

    def close(self) -> None:
        pass


class PlainBar:
    """Writes ``description: done/total unit (elapsed, ETA) facts`` at each tenth and at the end."""

    def __init__(self, line: Any, description: str, total: int, unit: str) -> None:
        self.line, self.description, self.total, self.unit = line, description, max(int(total), 0), unit
        self.completed, self.facts, self.start = 0, {}, time.monotonic()
        self._written = -1
        self._closed = False

    def advance(self, n: int = 1, **facts: Any) -> None:
        self.update(self.completed + n, **facts)

    def update(self, completed: int, **facts: Any) -> None:
        self.completed = min(int(completed), self.total) if self.total else int(completed)
        self.facts.update(facts)
        tenth = self.completed * PLAIN_STEPS // self.total if self.total else 0
        if tenth > self._written and (tenth < PLAIN_STEPS or self.completed >= self.total):
            self._written = tenth
            self._write()

    def _write(self) -> None:
        elapsed = time.monotonic() - self.start
        eta = ""
        if 0 < self.completed < self.total:
            eta = f", ETA {elapsed * (self.total - self.completed) / self.completed:.0f} s"
        facts = format_facts(self.facts)
        self.line(f"{self.description}: {self.completed}/{self.total} {self.unit}".rstrip()
                  + f" ({elapsed:.0f} s{eta})" + (f" {facts}" if facts else ""))

    def close(self) -> None:
        if not self._closed and self._written < PLAIN_STEPS and self.completed:
            self._write()
        self._closed = True


class LiveDisplay(_Header):
    """rich progress bars on a terminal; each stage's bars stay on screen when it ends."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._progress: Any = None

    def iteration(self, number: int, total: int | None) -> None:
        self.number, self.total = number, total
        self.console.rule(f"[bold]{self.prefix()}[/bold]", align="left")

    def stage(self, name: str) -> None:
        self._stop()
        self.console.print(f"[bold]{name}[/bold]")

    def _start(self) -> Any:
        if self._progress is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), TextColumn("{task.fields[facts]}"),
                console=self.console, transient=False)
            self._progress.start()
        return self._progress

    def bar(self, description: str, total: int, unit: str = "") -> "LiveBar":
        progress = self._start()
        return LiveBar(progress, progress.add_task(self.label(description), total=total, unit=unit,
                                                   facts=""))

    def event(self, text: str) -> None:
        target = self._progress.console if self._progress is not None else self.console
        target.print(f"  {text}")

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        self._stop()


class LiveBar:
    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task, self.facts = progress, task, {}

    def advance(self, n: int = 1, **facts: Any) -> None:
        self.facts.update(facts)
        self.progress.update(self.task, advance=n, facts=format_facts(self.facts))

    def update(self, completed: int, **facts: Any) -> None:
        self.facts.update(facts)
        self.progress.update(self.task, completed=completed, facts=format_facts(self.facts))

    def close(self) -> None:
        self.progress.refresh()


def make_display(console: Any, *, quiet: bool = False) -> Display:
    """Live bars for a terminal console, plain lines otherwise, nothing when ``quiet``."""
    if quiet or console is None:
        return QuietDisplay()
    if getattr(console, "is_terminal", False):
        return LiveDisplay(console)
    return PlainDisplay(console.file)
