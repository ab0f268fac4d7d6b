"""Import labelled structures from files into a store, and export a store to extended XYZ.

Imports are written in batches, each one transaction: a killed import leaves the store as it
was after the last complete batch, and running it again adds nothing twice (the store skips
structures whose content hash it already holds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.data.backend import EnergyRow, composition_of
from alearn.data.gate import EnergyReference, GateLimits, label_problem
from alearn.data.readers import Frame, LabelOptions, detect_format, read_frames
from alearn.data.records import Provenance, Source
from alearn.data.store import Inserted, Rejected, Store
from alearn.data.validation import content_hash
from alearn.errors import UserError
from alearn.files import atomic_writer

#: called as (file, None, 0) before a file is read, (file, frames, 0) once it is read and
#: (file, frames, frames done) after each batch
Progress = Callable[[Path, "int | None", int], None]


@dataclass(frozen=True)
class FileReport:
    """What importing one file did."""

    path: str
    format: str
    frames: int
    inserted: int
    existing: int
    rejected: tuple[tuple[str, str], ...]  # (origin "file:frame", reason)
    error: str | None = None


@dataclass(frozen=True)
class ImportOptions:
    """How files are read and what provenance their rows get."""

    format: str | None = None
    iteration: int = 0
    subset: str | None = None
    labels: LabelOptions = LabelOptions()
    batch: int = 256
    gate: GateLimits = GateLimits()


def import_files(store: Store, paths: Sequence[Path], options: ImportOptions = ImportOptions(),
                 progress: Progress | None = None) -> list[FileReport]:
    """Import every file; an unreadable file is reported (``error``) and the others go on."""
    reports = []
    for path in paths:
        try:
            fmt = detect_format(path, options.format)
            if progress is not None:
                progress(path, None, 0)
            frames = read_frames(path, fmt, options.labels)
        except UserError as exc:
            reports.append(FileReport(str(path), options.format or "?", 0, 0, 0, (), str(exc)))
            continue
        reports.append(_import_frames(store, path, fmt, frames, options, progress))
    return reports


def _import_frames(store: Store, path: Path, fmt: str, frames: list[Frame],
                   options: ImportOptions, progress: Progress | None) -> FileReport:
    inserted = existing = 0
    rejected: list[tuple[str, str]] = []
    if progress is not None:
        progress(path, len(frames), 0)
    verdicts = _gate(store, frames, options.gate)
    for start in range(0, len(frames), options.batch):
        batch = frames[start:start + options.batch]
        for frame in (f for f in batch if f.labels is None or f.origin in verdicts):
            rejected.append((frame.origin, verdicts.get(frame.origin) or frame.problem or "no labels"))
        labelled = [f for f in batch if f.labels is not None and f.origin not in verdicts]
        results = store.add_many(
            ((f.atoms, f.labels, _provenance(f, options)) for f in labelled),
            origins=[f.origin for f in labelled])
        for frame, result in zip(labelled, results):
            if isinstance(result, Rejected):
                rejected.append((frame.origin, result.reason))
            elif isinstance(result, Inserted) and result.new:
                inserted += 1
            else:
                existing += 1
        if progress is not None:
            progress(path, len(frames), start + len(batch))
    return FileReport(str(path), fmt, len(frames), inserted, existing, tuple(rejected))


def _gate(store: Store, frames: list[Frame], limits: GateLimits) -> dict[str, str]:
    """Origin → why the frame's labels are implausible, against the file's own frames and the
    stored rows of the same calculator (a fixed set: a rerun after an interruption reaches the
    same verdicts)."""
    labelled = [f for f in frames if f.labels is not None]
    if not limits.enabled or not labelled:
        return {}
    digests = {content_hash(f.atoms, f.labels) for f in labelled}
    elements = limits.element_energies()
    verdicts = {}
    for name in sorted({f.calculator or "" for f in labelled}):
        group = [f for f in labelled if (f.calculator or "") == name]
        stored = [r for r in store.energies(calculator=name or "unknown")
                  if r.content_hash not in digests]
        own = [EnergyRow(0, composition_of(f.atoms.numbers), len(f.atoms), float(f.labels.energy))
               for f in group]
        reference = EnergyReference(stored + own, elements)
        for frame in group:
            reason = label_problem(frame.atoms.numbers, frame.labels, limits, reference)
            if reason is not None:
                verdicts[frame.origin] = f"implausible labels: {reason}"
    return verdicts


def _provenance(frame: Frame, options: ImportOptions) -> Provenance:
    return Provenance(source=Source.IMPORTED, iteration=options.iteration,
                      calculator=frame.calculator, subset=options.subset)


#: info keys written by :func:`export_extxyz` for every row (None values are left out)
EXPORT_KEYS = ("store_id", "source", "iteration", "calculator", "params_hash", "job_hash",
               "subset", "parent", "std", "origin")


def export_extxyz(store: Store, out: Path, *, source: str | None = None,
                  iteration: int | None = None, subset: str | None = None) -> int:
    """Write the selected rows to ``out`` (extended XYZ, provenance as info keys); returns the
    number of structures.  The file appears complete or not at all (temp file + rename)."""
    from ase.io import write

    if not out.parent.exists():
        raise UserError(f"cannot write {out}: directory {out.parent} does not exist")
    count = 0
    with atomic_writer(out, text=True) as handle:
        for record in store.rows(source=source, iteration=iteration, subset=subset):
            write(handle, _export_atoms(record), format="extxyz")
            count += 1
    return count


def _export_atoms(record: Any) -> Any:
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = record.atoms.copy()
    provenance = record.provenance
    values = {"store_id": record.id, "source": provenance.source.value,
              "iteration": provenance.iteration, "calculator": provenance.calculator,
              "params_hash": provenance.params_hash, "job_hash": provenance.job_hash,
              "subset": provenance.subset, "parent": provenance.parent,
              "std": provenance.std, "origin": record.atoms.info.get("origin")}
    atoms.info = {key: values[key] for key in EXPORT_KEYS if values[key] is not None}
    results: dict[str, Any] = {"energy": record.labels.energy}
    if record.labels.forces is not None:
        results["forces"] = record.labels.forces
    if record.labels.stress is not None:
        results["stress"] = record.labels.stress
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def summary_counts(reports: Iterable[FileReport]) -> tuple[int, int, int, int]:
    """(frames, inserted, already present, rejected) over all files."""
    frames = inserted = existing = rejected = 0
    for report in reports:
        frames += report.frames
        inserted += report.inserted
        existing += report.existing
        rejected += len(report.rejected)
    return frames, inserted, existing, rejected
