"""Terminal output of the data commands: the import progress bar and summary tables (rich)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alearn.data.transfer import FileReport, Progress, summary_counts

#: rejected structures listed one by one before the table is cut short
MAX_REJECTED_ROWS = 50


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[Progress | None]:
    """A progress callback drawing one rich bar per file (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, \
        TimeRemainingColumn

    tasks: dict[Path, int] = {}
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
             TimeRemainingColumn(), transient=False) as bar:
        def update(path: Path, total: int | None, done: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(f"reading {path.name}", total=None)
            if total is not None:
                bar.update(tasks[path], description=f"importing {path.name}", total=total,
                           completed=done)

        yield update


def print_import_summary(reports: Sequence[FileReport], store: str, total: int) -> None:
    """Per-file counts, then every rejected structure with its reason."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"import into {store}")
    for column in ("file", "format", "structures", "added", "already stored", "rejected"):
        table.add_column(column, justify="left" if column in ("file", "format") else "right")
    for r in reports:
        if r.error:
            table.add_row(escape(r.path), r.format, "-", "-", "-", "[red]unreadable[/red]")
        else:
            table.add_row(escape(r.path), r.format, str(r.frames), str(r.inserted), str(r.existing),
                          str(len(r.rejected)))
    console.print(table)
    _print_rejected(console, reports)
    errors = Console(stderr=True)
    for r in reports:
        if r.error:
            errors.print(f"alearn: error: {r.error}", style="red", markup=False, highlight=False,
                         soft_wrap=True)
    frames, added, existing, rejected = summary_counts(reports)
    console.print(f"{added} added, {existing} already stored, {rejected} rejected of {frames} "
                  f"structures; the store now holds {total}.", highlight=False)


def _print_rejected(console: object, reports: Sequence[FileReport]) -> None:
    from rich.markup import escape
    from rich.table import Table

    rejected = [item for r in reports for item in r.rejected]
    if not rejected:
        return
    table = Table(title="rejected structures (not stored)")
    table.add_column("structure (file:frame)")
    table.add_column("reason")
    for origin, reason in rejected[:MAX_REJECTED_ROWS]:
        table.add_row(escape(origin), escape(reason))
    if len(rejected) > MAX_REJECTED_ROWS:
        table.add_row("...", f"and {len(rejected) - MAX_REJECTED_ROWS} more")
    console.print(table)  # type: ignore[attr-defined]
