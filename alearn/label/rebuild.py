"""Job directories are the source of truth: store rows of reference calculations that went
missing (a deleted row, a deleted or replaced store) are rebuilt from them.

Each job directory holds the exact input structure (``job.json``), the labels
(``result.json``, the commit point) and what the store made of them (``row.json``: the row id,
iteration and subset).  :func:`restore_reference_rows` puts the rows back under their old ids
(SQLite stores), so the snapshots that list those ids see them again.  Rows that are not
reference calculations (imported data, Taylor or GPR rows) have no job directory; they are
reported as unrestorable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.data.records import Provenance, Source
from alearn.label.jobs import JobDir, atoms_from_json, hash_of_params, labels_from_json


@dataclass(frozen=True)
class Restored:
    """Row ids put back from job directories, and the ones no job directory could supply."""

    restored: tuple[int, ...]
    unrestorable: tuple[int, ...]


def rows_by_job(jobs_dir: Path) -> dict[int, JobDir]:
    """Store row id → the job directory whose result it holds (from each ``row.json``)."""
    found: dict[int, JobDir] = {}
    if not jobs_dir.is_dir():
        return found
    for path in jobs_dir.iterdir():
        if path.is_dir():
            job = JobDir(path)
            row = job.row() or {}
            if isinstance(row.get("id"), int) and (path / "result.json").is_file():
                found[row["id"]] = job
    return found


def restore_reference_rows(store: Any, jobs_dir: Path, wanted: Iterable[int]) -> Restored:
    """Insert the reference rows ``wanted`` (missing from ``store``) from ``jobs_dir``."""
    wanted = sorted(set(int(i) for i in wanted))
    index = rows_by_job(Path(jobs_dir))
    items, ids = [], []
    for row_id in wanted:
        item = _item(index[row_id]) if row_id in index else None
        if item is not None:
            items.append(item)
            ids.append(row_id)
    results = store.add_many(items, ids=ids) if items else []
    restored = tuple(i for i, r in zip(ids, results) if getattr(r, "id", None) == i)
    return Restored(restored, tuple(i for i in wanted if i not in set(restored)))


def _item(job: JobDir) -> tuple[Any, Any, Provenance] | None:
    record, result, row = job.job(), job.result(), job.row() or {}
    if record is None or result is None or "input" not in record:
        return None
    provenance = Provenance(Source.REFERENCE, iteration=int(row.get("iteration", 0) or 0),
                            calculator=record.get("calculator"),
                            params_hash=hash_of_params(record.get("params", {})),
                            job_hash=job.hash, subset=row.get("subset"))
    return atoms_from_json(record["input"]), labels_from_json(result["labels"]), provenance
