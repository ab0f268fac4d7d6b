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
``add`` and each ``add_many`` is one database transaction: a killed process leaves the store
as it was before the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.data.validation import content_hash, problem, voigt_stress
from alearn.errors import UserError

#: provenance fields stored as key-value pairs under their own name
_PROVENANCE_KEYS = ("iteration", "params_hash", "job_hash", "subset", "parent", "std")
_NO_CALCULATOR = "unknown"
#: prefix of the per-atom arrays kept with a row, and the row-data key that holds them
ARRAY_PREFIX = "alearn_"
_ARRAYS_KEY = "alearn_arrays"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")
_INDICES_SQLITE = (
    "CREATE INDEX IF NOT EXISTS alearn_text_key_value ON text_key_values(key, value)",
    "CREATE INDEX IF NOT EXISTS alearn_number_key_value ON number_key_values(key, value)",
)
_INDICES_POSTGRES = tuple(
    f"CREATE INDEX IF NOT EXISTS alearn_{key} ON systems ((key_value_pairs->>'{key}'))"
    for key in ("job_hash", "content_hash", "source"))


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


class Store:
    """A labelled-structure store; open it with :meth:`Store.open`."""

    def __init__(self, db: Any, url: str, min_distance_A: float) -> None:
        self._db = db
        self.url = url
        self.min_distance_A = min_distance_A

    @classmethod
    def open(cls, url: str | Path, *, min_distance_A: float = 0.5) -> Store:
        """Open (creating when needed) the store at an SQLite path or a ``postgresql://`` URL."""
        if min_distance_A <= 0:
            raise UserError(f"min_distance_A must be positive, found {min_distance_A}")
        text = str(url)
        db = _connect_postgres(text) if text.startswith(_POSTGRES_PREFIXES) else _connect_sqlite(Path(text))
        store = cls(db, text, min_distance_A)
        store._probe()
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection (the store stays usable: it reconnects on demand)."""
        connection = getattr(self._db, "connection", None)
        if connection is not None:
            connection.close()
            self._db.connection = None

    def __len__(self) -> int:
        return self.count()

    # writing -------------------------------------------------------------------------------

    def add(self, atoms: Atoms, labels: Labels, provenance: Provenance, *,
            origin: str | None = None) -> AddResult:
        """Validate and store one labelled structure (one transaction)."""
        with self._transaction():
            return self._add(atoms, labels, provenance, origin)

    def add_many(self, items: Iterable[tuple[Atoms, Labels, Provenance]], *,
                 origins: Iterable[str | None] | None = None) -> list[AddResult]:
        """Validate and store many structures in one transaction; one result per item."""
        origin_list = list(origins) if origins is not None else None
        results: list[AddResult] = []
        with self._transaction():
            for index, (atoms, labels, provenance) in enumerate(items):
                origin = origin_list[index] if origin_list is not None else None
                results.append(self._add(atoms, labels, provenance, origin))
        return results

    def _add(self, atoms: Atoms, labels: Labels, provenance: Provenance,
             origin: str | None) -> AddResult:
        if provenance.job_hash is not None:
            existing = self.find_job(provenance.job_hash)
            if existing is not None:
                return Inserted(existing, new=False)
        reason = problem(atoms, labels, self.min_distance_A)
        if reason is not None:
            return Rejected(reason)
        digest = content_hash(atoms, labels)
        existing = self._first_id(content_hash=digest)
        if existing is not None:
            return Inserted(existing, new=False)
        keys = _key_values(provenance, digest, origin)
        row_id = self._db.write(_row(atoms, labels, provenance.calculator),
                                key_value_pairs=keys, data=_data(atoms, labels))
        return Inserted(int(row_id))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One database transaction around the block (nested blocks join the outer one)."""
        db = self._db
        if db.connection is not None:
            yield
            return
        db.connection = db._connect()
        db.change_count = 0
        try:
            yield
        except BaseException:
            _rollback(db.connection)
            raise
        else:
            db.connection.commit()
        finally:
            db.connection.close()
            db.connection = None

    # reading -------------------------------------------------------------------------------

    def find_job(self, job_hash: str) -> int | None:
        """The row id holding the result of ``job_hash``, or ``None``."""
        return self._first_id(job_hash=job_hash)

    def has_job(self, job_hash: str) -> bool:
        """Whether the result of the reference calculation ``job_hash`` is stored."""
        return self.find_job(job_hash) is not None

    def job_hashes(self) -> set[str]:
        """Every stored job hash."""
        return {row.job_hash for row in self._db.select("job_hash", include_data=False)}

    def get(self, id: int) -> LabelledStructure:
        """Row ``id``; a missing row is a :class:`UserError`."""
        try:
            row = self._db.get(id=int(id))
        except KeyError:
            raise UserError(f"store {self.url} has no row with id {id}") from None
        return _record(row)

    def rows(self, *, source: Source | str | None = None, iteration: int | None = None,
             ids: Iterable[int] | None = None, subset: str | None = None,
             ) -> Iterator[LabelledStructure]:
        """Stored structures in id order, filtered by provenance (all filters combine)."""
        selection = _filters(source, iteration, subset)
        if ids is None:
            for row in self._db.select(sort="id", **selection):
                yield _record(row)
            return
        for row_id in sorted({int(i) for i in ids}):
            for row in self._db.select(id=row_id, **selection):
                yield _record(row)

    def count(self, *, source: Source | str | None = None, iteration: int | None = None,
              subset: str | None = None) -> int:
        """Number of stored structures matching the filters."""
        return int(self._db.count(**_filters(source, iteration, subset)))

    def _first_id(self, **selection: Any) -> int | None:
        for row in self._db.select(limit=1, include_data=False, **selection):
            return int(row.id)
        return None

    def _probe(self) -> None:
        try:
            self._db.count()
            self._ensure_indices()
        except Exception as exc:  # sqlite3.DatabaseError, psycopg2 errors, ...
            raise UserError(f"cannot open the store {self.url}: {type(exc).__name__}: {exc} "
                            "(expected an ASE database: an SQLite file or a postgresql:// URL)"
                            ) from None

    def _ensure_indices(self) -> None:
        """Indices for the lookups every insert makes (job hash, content hash): ASE indexes
        key-value pairs by key only, which makes each lookup a scan of all rows."""
        statements = _INDICES_POSTGRES if self.url.startswith(_POSTGRES_PREFIXES) else _INDICES_SQLITE
        connection = self._db._connect()
        try:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()


def _connect_sqlite(path: Path) -> Any:
    import ase.db

    if path.is_dir():
        raise UserError(f"store {path} is a directory; give a file name such as {path / 'store.db'}")
    if not path.parent.exists():
        raise UserError(f"cannot create the store {path}: directory {path.parent} does not exist")
    return ase.db.connect(str(path), type="db", append=True)


def _connect_postgres(url: str) -> Any:
    import ase.db

    try:
        return ase.db.connect(url, type="postgresql")
    except ImportError as exc:
        raise UserError(f"a postgresql:// store needs psycopg2 and ase-db-backends ({exc}); "
                        "install them with: pip install 'alearn[postgres]'") from None


def _rollback(connection: Any) -> None:
    rollback = getattr(connection, "rollback", None)
    if rollback is None:  # ase_db_backends' PostgreSQL wrapper hides the psycopg2 connection
        rollback = connection.con.rollback
    rollback()


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
    from ase.db.core import str_represents

    keys: dict[str, Any] = {"source": Source(provenance.source).value, "content_hash": digest}
    for name in _PROVENANCE_KEYS:
        value = getattr(provenance, name)
        if value is not None:
            keys[name] = value
    if origin is not None:
        keys["origin"] = origin
    for name, value in keys.items():
        if isinstance(value, str) and any(str_represents(value, t) for t in (bool, int, float)):
            raise UserError(f"provenance {name} = {value!r} reads as a number or boolean, which "
                            "an ASE database cannot keep as text; use a name with letters")
    return keys


def _row(atoms: Atoms, labels: Labels, calculator: str | None) -> Any:
    """The ASE-db row of a labelled structure, built directly (as ``AtomsRow(atoms)`` would with
    a single-point calculator attached, without its costly state comparisons)."""
    import os

    from ase.db.core import now
    from ase.db.row import AtomsRow, atoms2dict

    bare = atoms.copy()
    bare.calc = None
    record = atoms2dict(bare)
    record["calculator"] = (calculator or _NO_CALCULATOR).lower()
    record["calculator_parameters"] = {}
    record["energy"] = float(labels.energy)
    if labels.forces is not None:
        record["forces"] = np.asarray(labels.forces, dtype=float)
    if labels.stress is not None:
        record["stress"] = voigt_stress(labels.stress)
    row = AtomsRow(record)
    row.ctime = now()
    row.user = os.getenv("USER")
    return row


def _data(atoms: Atoms, labels: Labels) -> dict[str, Any]:
    """The row's data: the labels' extra items and the ``alearn_*`` per-atom arrays."""
    if _ARRAYS_KEY in labels.extra:
        raise UserError(f"labels.extra may not use the key {_ARRAYS_KEY!r} (reserved by the store)")
    arrays = {name: np.asarray(value) for name, value in atoms.arrays.items()
              if name.startswith(ARRAY_PREFIX)}
    return {**labels.extra, _ARRAYS_KEY: arrays} if arrays else dict(labels.extra)


def _record(row: Any) -> LabelledStructure:
    atoms = row.toatoms()
    atoms.calc = None
    atoms.info = {name: row.key_value_pairs[name] for name in ("origin", "content_hash")
                  if name in row.key_value_pairs}
    keys = row.key_value_pairs
    extra = dict(row.get("data") or {})
    for name, value in (extra.pop(_ARRAYS_KEY, None) or {}).items():
        atoms.arrays[name] = np.asarray(value)
    labels = Labels(energy=float(row.energy), forces=row.get("forces"),
                    stress=row.get("stress"), extra=extra)
    calculator = row.get("calculator")
    provenance = Provenance(
        source=Source(keys["source"]), iteration=int(keys.get("iteration", 0)),
        calculator=None if calculator in (None, _NO_CALCULATOR) else calculator,
        params_hash=keys.get("params_hash"), job_hash=keys.get("job_hash"),
        subset=keys.get("subset"), parent=keys.get("parent"), std=keys.get("std"))
    return LabelledStructure(atoms=atoms, labels=labels, provenance=provenance, id=int(row.id))
