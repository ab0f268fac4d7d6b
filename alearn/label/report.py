"""Terminal front end of the dispatcher: progress bar and failure summary (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alearn.config.dispatch import DispatchConfig
from alearn.errors import UserError
from alearn.label.dispatcher import JobOutcome, LabelReport, Status, label_structures
from alearn.label.jobs import clear_cancel


def open_store(url: str, min_distance_A: float = 0.5) -> Any:
    """The project's store (``alearn.data.store.Store``) at ``url``."""
    try:
        from alearn.data.store import Store
    except ImportError as exc:
        raise UserError(f"the labelled-structure store is not available ({exc})") from None
    return Store.open(url, min_distance_A=min_distance_A)


def label_with_progress(structures: Sequence[Any], params: Any, dispatch: DispatchConfig,
                        store_url: str, jobs_dir: Path, *, iteration: int = 0,
                        subset: str | None = None, console: Any = None,
                        store: Any = None) -> LabelReport:
    """Label ``structures`` with the plugin of ``params``, showing progress and a summary
    (``store``: a ``[store]`` section for the label gate; default its defaults)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn

    from alearn.label.engines import make_engine
    from alearn.label.registry import make_calculator

    console = console or Console(stderr=True)
    calculator = make_calculator(params)
    clear_cancel(jobs_dir)
    columns = (TextColumn("[bold]labelling"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn())
    from alearn.config.store import StoreConfig
    from alearn.data.gate import GateLimits

    section = store if store is not None else StoreConfig()
    with open_store(store_url, section.min_distance_A) as opened, make_engine(dispatch) as engine, \
            Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("label", total=len(structures), failed=0)
        failed = [0]

        def advance(outcome: JobOutcome, done: int, total: int) -> None:
            failed[0] += outcome.status is not Status.STORED
            progress.update(bar, completed=done, failed=failed[0])

        report = label_structures(
            structures, calculator, params.profile, opened, engine=engine, jobs_dir=jobs_dir,
            iteration=iteration, attempts=dispatch.attempts, timeout_s=dispatch.timeout_s,
            max_concurrent=dispatch.concurrency, subset=subset, progress=advance,
            gate=GateLimits.from_config(section), max_crashes=dispatch.max_crashes)
    print_summary(report, console, jobs_dir)
    return report


def print_summary(report: LabelReport, console: Any, jobs_dir: Path) -> None:
    """Counts per status and a table of every structure that did not reach the store."""
    from rich.table import Table

    counts = ", ".join(f"{report.count(s)} {s.value}" for s in Status if report.count(s))
    reused = sum(1 for o in report.outcomes if o.reused)
    console.print(f"{len(report.outcomes)} structures: {counts} "
                  f"({reused} reused from earlier runs) in {report.elapsed_s:.1f} s")
    if not report.failures:
        return
    table = Table(title=f"not labelled (details in {jobs_dir}/<job>/attempt_NN/)")
    for column in ("#", "job", "status", "kind", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    for o in report.failures:
        table.add_row(str(o.index), o.job_hash, o.status.value, o.kind.value if o.kind else "",
                      str(o.attempts), o.reason)
    console.print(table)

