"""The labelled-structure store: one ASE database row per structure, with its provenance.

A store is an ASE database (``ase.db``): an SQLite file by default, or a ``postgresql://`` URL
(needs the ``postgres`` extra).  Each row holds the structure, its energy, forces and stress
(as ASE's single-point results), and the provenance as key-value pairs, so users can browse it
with ``ase db store.db source=reference``::

    source         reference | taylor | gpr | imported
    iteration      loop iteration that produced the row
    params_hash    hash of the calculator parameters     (calculator: ASE's calculator column)
    job_hash       job directory of the reference calculation (idempotency key)
    subset, parent, std, origin (file:frame of imported rows), content_hash

**Per-atom arrays.**  ASE's database keeps only its own per-atom arrays (numbers, positions,
tags, ...).  Arrays of the stored ``Atoms`` whose names start with ``alearn_`` (for example
``alearn_complete``, the fragment atoms whose cutoff sphere lies inside the fragment) are kept
in the row's ``data`` under the key ``alearn_arrays`` and restored into ``atoms.arrays`` when
the row is read; they are not part of the content hash.

Every insert is validated (:mod:`alearn.data.validation`); a structure that fails is returned
as :class:`Rejected` with the reason and never stored.  A ``job_hash`` or a content hash already
in the store returns the existing row (``Inserted(new=False)``) instead of a second row.  Each
``add`` and each ``add_many`` is one database transaction, durable when it returns: a killed
process leaves the store as it was before the transaction.  SQLite stores are read and written
with plain SQL in batches (:mod:`alearn.data.sqlite_backend`); other databases through ASE's
API (:mod:`alearn.data.ase_backend`).  A full disk or a read-only directory is a
:class:`~alearn.data.faults.StorageError` naming the file and the free space.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from alearn.data.ase_backend import POSTGRES_PREFIXES, AseBackend
from alearn.data.backend import Backend, EnergyRow, NewRow, StoredRow, chunks
from alearn.data.faults import is_storage_fault, storage_problem
from alearn.data.records import ARRAY_PREFIX, Labels, LabelledStructure, Provenance, Source
from alearn.data.sqlite_backend import FORMAT_VERSION, SqliteBackend, format_version
from alearn.data.validation import content_hash, problem, voigt_stress
from alearn.errors import UserError

#: provenance fields stored as key-value pairs under their own name
_PROVENANCE_KEYS = ("iteration", "params_hash", "job_hash", "subset", "parent", "std")
_NO_CALCULATOR = "unknown"
#: the row-data key that holds the ``alearn_*`` per-atom arrays
_ARRAYS_KEY = "alearn_arrays"
_SOURCES = {source.value: source for source in Source}


@dataclass(frozen=True)
class Inserted:
    """The structure is in the store as row ``id``; ``new`` is False when it already was
    (same ``job_hash`` or same content), in which case nothing was written."""

    id: int
    new: bool = True


@dataclass(frozen=True)
class Rejected:
    """The structure failed validation and was not stored; ``reason`` says why."""

    reason: str


AddResult = Inserted | Rejected


@dataclass(frozen=True)
class _Candidate:
    """One item of a batch after validation: a row to write, or the reason it may not be."""

    index: int
    row: NewRow | None
    job_hash: str | None
    digest: str = ""
    reason: str = ""


class Store:
    """A labelled-structure store; open it with :meth:`Store.open`."""

    def __init__(self, backend: Backend, url: str, min_distance_A: float) -> None:
        self._backend = backend
        self.url = url
        self.min_distance_A = min_distance_A

    @classmethod
    def open(cls, url: str | Path, *, min_distance_A: float = 0.5) -> Store:
        """Open (creating when needed) the store at an SQLite path or a ``postgresql://`` URL."""
        if min_distance_A <= 0:
            raise UserError(f"min_distance_A must be positive, found {min_distance_A}")
        text = str(url)
        try:
            backend = AseBackend.open(text) if text.startswith(POSTGRES_PREFIXES) else _open_sqlite(Path(text))
        except UserError:
            raise
        except Exception as exc:  # sqlite3.DatabaseError, psycopg2 errors, OSError ...
            if is_storage_fault(exc):
                raise storage_problem(exc, None if "://" in text else Path(text), "open or create the store") from None
            raise UserError(f"cannot open the store {text}: {type(exc).__name__}: {exc} "
                            "(expected an ASE database: an SQLite file or a postgresql:// URL)"
                            ) from None
        return cls(backend, text, min_distance_A)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection (the store stays usable: it reconnects on demand)."""
        self._backend.close()

    def __len__(self) -> int:
        return self.count()

    # writing -------------------------------------------------------------------------------

    def add(self, atoms: Atoms, labels: Labels, provenance: Provenance, *,
            origin: str | None = None) -> AddResult:
        """Validate and store one labelled structure (one transaction)."""
        return self.add_many([(atoms, labels, provenance)], origins=[origin])[0]

    def add_many(self, items: Iterable[tuple[Atoms, Labels, Provenance]], *,
                 origins: Iterable[str | None] | None = None,
                 ids: Iterable[int | None] | None = None) -> list[AddResult]:
        """Validate and store many structures in one transaction; one result per item.

        ``ids`` (SQLite stores only) restores rows under the ids they had before, when a store
        is rebuilt from job directories; an id already taken is an error."""
        batch = list(items)
        origin_list = list(origins) if origins is not None else [None] * len(batch)
        id_list = list(ids) if ids is not None else None
        results: list[AddResult | None] = [None] * len(batch)
        candidates = []
        for index, (atoms, labels, provenance) in enumerate(batch):
            candidate = self._prepare(index, atoms, labels, provenance, origin_list[index])
            if isinstance(candidate, Rejected):
                results[index] = candidate
            else:
                candidates.append(candidate)
        with self._guard("write the store"), self._backend.transaction():
            self._deduplicate(candidates, results)
            fresh = [c for c in candidates if results[c.index] is None and c.row is not None]
            wanted = [id_list[c.index] for c in fresh] if id_list is not None else None
            for candidate, row_id in zip(fresh, self._backend.insert([c.row for c in fresh], wanted)):
                results[candidate.index] = Inserted(row_id)
        self._resolve_later(results)
        return [r for r in results if r is not None]

    def _prepare(self, index: int, atoms: Atoms, labels: Labels, provenance: Provenance,
                 origin: str | None) -> _Candidate | Rejected:
        reason = problem(atoms, labels, self.min_distance_A)
        if reason is not None:  # still looked up by job hash: a stored result wins
            return _Candidate(index, None, provenance.job_hash, reason=reason) \
                if provenance.job_hash else Rejected(reason)
        digest = content_hash(atoms, labels)
        keys = _key_values(provenance, digest, origin)
        row = NewRow(atoms, float(labels.energy),
                     None if labels.forces is None else np.asarray(labels.forces, dtype=float),
                     voigt_stress(labels.stress), (provenance.calculator or _NO_CALCULATOR).lower(),
                     keys, _data(atoms, labels))
        return _Candidate(index, row, provenance.job_hash, digest)

    def _deduplicate(self, candidates: list[_Candidate], results: list[AddResult | None]) -> None:
        """Existing rows by job hash (checked first, as a job's result is stored once whatever
        its content), then by content hash, in the store and earlier in the same batch."""
        jobs = self._backend.first_ids("job_hash", [c.job_hash for c in candidates if c.job_hash])
        digests = self._backend.first_ids("content_hash", [c.digest for c in candidates if c.digest])
        batch_jobs: dict[str, int] = {}
        batch_digests: dict[str, int] = {}
        for c in candidates:
            if c.job_hash and c.job_hash in jobs:
                results[c.index] = Inserted(jobs[c.job_hash], new=False)
            elif c.row is None:
                results[c.index] = Rejected(c.reason)
            elif c.digest in digests:
                results[c.index] = Inserted(digests[c.digest], new=False)
            elif c.job_hash and c.job_hash in batch_jobs or c.digest in batch_digests:
                results[c.index] = _Later(batch_jobs.get(c.job_hash or "", batch_digests.get(c.digest, -1)))
            else:
                if c.job_hash:
                    batch_jobs[c.job_hash] = c.index
                batch_digests[c.digest] = c.index

    # reading -------------------------------------------------------------------------------

    def find_job(self, job_hash: str) -> int | None:
        """The row id holding the result of ``job_hash``, or ``None``."""
        with self._guard("read the store"):
            return self._backend.first_ids("job_hash", [job_hash]).get(job_hash)

    def has_job(self, job_hash: str) -> bool:
        """Whether the result of the reference calculation ``job_hash`` is stored."""
        return self.find_job(job_hash) is not None

    def job_hashes(self) -> set[str]:
        """Every stored job hash (one query)."""
        with self._guard("read the store"):
            return self._backend.text_values("job_hash")

    def get(self, id: int) -> LabelledStructure:
        """Row ``id``; a missing row is a :class:`UserError`."""
        with self._guard("read the store"):
            found = self._backend.fetch([int(id)], {})
        if not found:
            raise UserError(f"store {self.url} has no row with id {id}")
        return _record(found[0])

    def rows(self, *, source: Source | str | None = None, iteration: int | None = None,
             ids: Iterable[int] | None = None, subset: str | None = None,
             ) -> Iterator[LabelledStructure]:
        """Stored structures in id order, filtered by provenance (all filters combine).

        Rows are fetched by id in chunks (one query per chunk); no read stays open between
        the items yielded, so the caller may write to the store while iterating."""
        selection = _filters(source, iteration, subset)
        with self._guard("read the store"):
            wanted = self._backend.ids(selection) if ids is None else sorted({int(i) for i in ids})
        for part in chunks(wanted):
            with self._guard("read the store"):
                found = self._backend.fetch(part, {} if ids is None else selection)
            for row in found:
                yield _record(row)

    def ids(self, *, source: Source | str | None = None, iteration: int | None = None,
            subset: str | None = None) -> list[int]:
        """Ids of the rows matching the filters, ascending (one query, no rows decoded)."""
        with self._guard("read the store"):
            return self._backend.ids(_filters(source, iteration, subset))

    def present(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are rows of the store (one query per chunk of ids)."""
        with self._guard("read the store"):
            return self._backend.present(sorted({int(i) for i in ids}))

    def count(self, *, source: Source | str | None = None, iteration: int | None = None,
              subset: str | None = None) -> int:
        """Number of stored structures matching the filters."""
        with self._guard("read the store"):
            return self._backend.count(_filters(source, iteration, subset))

    def energies(self, *, source: Source | str | None = None, params_hash: str | None = None,
                 calculator: str | None = None) -> list[EnergyRow]:
        """Composition, energy, job and content hash of the matching rows (one query), for the
        label gate's references."""
        selection = _filters(source, None, None)
        if params_hash is not None:
            selection["params_hash"] = params_hash
        with self._guard("read the store"):
            return self._backend.energies(selection, None if calculator is None else calculator.lower())

    # faults --------------------------------------------------------------------------------

    def _guard(self, action: str) -> "_Guard":
        return _Guard(self, action)

    @staticmethod
    def _resolve_later(results: list[AddResult | None]) -> None:
        """Items that repeat an earlier item of the same batch get that item's row."""
        for index, result in enumerate(results):
            if isinstance(result, _Later):
                target = results[result.index]
                results[index] = Inserted(target.id, new=False) if isinstance(target, Inserted) else target


@dataclass(frozen=True)
class _Later:
    """Placeholder: the same row as batch item ``index`` (resolved once that one is written)."""

    index: int


class _Guard:
    """Turns storage faults of the database into :class:`~alearn.data.faults.StorageError`."""

    def __init__(self, store: Store, action: str) -> None:
        self.store, self.action = store, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or isinstance(exc, UserError) or not isinstance(exc, Exception):
            return False
        if is_storage_fault(exc):
            url = self.store.url
            raise storage_problem(exc, None if "://" in url else Path(url), self.action) from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise UserError(f"the store {self.store.url} is damaged or not an ASE database "
                            f"({type(exc).__name__}: {exc}); restore it from a backup, or delete "
                            "it: a campaign rebuilds it from its job directories") from None
        return False


def _open_sqlite(path: Path) -> Backend:
    if path.is_dir():
        raise UserError(f"store {path} is a directory; give a file name such as {path / 'store.db'}")
    if not path.parent.exists():
        raise UserError(f"cannot create the store {path}: directory {path.parent} does not exist")
    if path.exists() and path.stat().st_size > 0:
        version = format_version(path)
        if version is not None and version < FORMAT_VERSION:
            return AseBackend.open(str(path))  # older ASE formats: through ASE's own API
    return SqliteBackend.open(path)


def _filters(source: Source | str | None, iteration: int | None,
             subset: str | None) -> dict[str, Any]:
    selection: dict[str, Any] = {}
    if source is not None:
        selection["source"] = Source(source).value
    if iteration is not None:
        selection["iteration"] = int(iteration)
    if subset is not None:
        selection["subset"] = subset
    return selection


def _key_values(provenance: Provenance, digest: str, origin: str | None) -> dict[str, Any]:
    keys: dict[str, Any] = {"source": Source(provenance.source).value}
    for name in _PROVENANCE_KEYS:
        value = getattr(provenance, name)
        if value is not None:
            keys[name] = value
    if origin is not None:
        keys["origin"] = origin
    for name, value in keys.items():
        if isinstance(value, str) and _reads_as_number(value):
            raise UserError(f"provenance {name} = {value!r} reads as a number or boolean, which "
                            "an ASE database cannot keep as text; use a name with letters")
    keys["content_hash"] = digest  # 64 hex digits with letters: always text
    return keys


#: first characters (after leading white space) of every text ``int``/``float`` accept, and of
#: ``True``/``False``: a text starting otherwise reads as text without trying to parse it
_NUMBER_STARTS = frozenset("+-.0123456789iInNTF")


def _reads_as_number(text: str) -> bool:
    """Whether ASE's database would read ``text`` back as a number or a boolean."""
    from ase.db.core import convert_str_to_int_float_bool_or_str

    first = text.lstrip()[:1]
    if first.isascii() and first not in _NUMBER_STARTS:  # int() also reads non-ASCII digits
        return False
    return not isinstance(convert_str_to_int_float_bool_or_str(text), str)


def _data(atoms: Atoms, labels: Labels) -> dict[str, Any]:
    """The row's data: the labels' extra items and the ``alearn_*`` per-atom arrays."""
    if _ARRAYS_KEY in labels.extra:
        raise UserError(f"labels.extra may not use the key {_ARRAYS_KEY!r} (reserved by the store)")
    arrays = {name: np.asarray(value) for name, value in atoms.arrays.items()
              if name.startswith(ARRAY_PREFIX)}
    return {**labels.extra, _ARRAYS_KEY: arrays} if arrays else dict(labels.extra)


def _record(row: StoredRow) -> LabelledStructure:
    atoms = row.atoms
    keys = row.key_values
    atoms.info = {name: keys[name] for name in ("origin", "content_hash") if name in keys}
    extra = dict(row.data)
    for name, value in (extra.pop(_ARRAYS_KEY, None) or {}).items():
        atoms.arrays[name] = np.asarray(value)
    labels = Labels(energy=row.energy, forces=row.forces, stress=row.stress, extra=extra)
    calculator = row.calculator
    provenance = Provenance(
        source=_SOURCES[keys["source"]], iteration=int(keys.get("iteration", 0)),
        calculator=None if calculator in (None, _NO_CALCULATOR) else calculator,
        params_hash=keys.get("params_hash"), job_hash=keys.get("job_hash"),
        subset=keys.get("subset"), parent=keys.get("parent"), std=keys.get("std"))
    return LabelledStructure(atoms=atoms, labels=labels, provenance=provenance, id=row.id)
