"""The store through ASE's own database API: PostgreSQL (``postgresql://``, the ``postgres``
extra) and SQLite files in an ASE format older than :data:`~alearn.data.sqlite_backend.
FORMAT_VERSION`.  Slower than :mod:`alearn.data.sqlite_backend` (ASE writes and reads one row
at a time) but any database ASE supports works.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from alearn.data.backend import EnergyRow, NewRow, StoredRow, chunks, composition_of
from alearn.errors import UserError

POSTGRES_PREFIXES = ("postgresql://", "postgres://")
_INDICES_POSTGRES = tuple(
    f"CREATE INDEX IF NOT EXISTS alearn_{key} ON systems ((key_value_pairs->>'{key}'))"
    for key in ("job_hash", "content_hash", "source"))
_INDICES_SQLITE = (
    "CREATE INDEX IF NOT EXISTS alearn_text_key_value ON text_key_values(key, value)",
    "CREATE INDEX IF NOT EXISTS alearn_number_key_value ON number_key_values(key, value)",
)


class AseBackend:
    """Rows through ``ase.db`` (see module docstring)."""

    def __init__(self, db: Any, location: str) -> None:
        self._db = db
        self.location = location

    @classmethod
    def open(cls, location: str) -> "AseBackend":
        import ase.db

        if location.startswith(POSTGRES_PREFIXES):
            try:
                db = ase.db.connect(location, type="postgresql")
            except ImportError as exc:
                raise UserError(f"a postgresql:// store needs psycopg2 and ase-db-backends ({exc}); "
                                "install them with: pip install 'alearn[postgres]'") from None
        else:
            db = ase.db.connect(location, type="db", append=True)
        backend = cls(db, location)
        backend._db.count()
        backend._ensure_indices()
        return backend

    def _ensure_indices(self) -> None:
        postgres = self.location.startswith(POSTGRES_PREFIXES)
        connection = self._db._connect()
        try:
            cursor = connection.cursor()
            for statement in _INDICES_POSTGRES if postgres else _INDICES_SQLITE:
                cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()

    def close(self) -> None:
        connection = getattr(self._db, "connection", None)
        if connection is not None:
            connection.close()
            self._db.connection = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
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

    def insert(self, rows: Sequence[NewRow], ids: Sequence[int | None] | None = None) -> list[int]:
        if ids is not None and any(i is not None for i in ids):
            raise UserError(f"restoring rows under their old ids needs an SQLite store; "
                            f"{self.location} is not one")
        return [int(self._db.write(_atoms_row(row), key_value_pairs=dict(row.key_values),
                                   data=dict(row.data))) for row in rows]

    def first_ids(self, key: str, values: Iterable[str]) -> dict[str, int]:
        found = {}
        for value in set(values):
            for row in self._db.select(limit=1, include_data=False, sort="id", **{key: value}):
                found[value] = int(row.id)
        return found

    def ids(self, filters: Mapping[str, Any]) -> list[int]:
        return [int(row.id) for row in self._db.select(sort="id", include_data=False, **filters)]

    def fetch(self, ids: Sequence[int], filters: Mapping[str, Any]) -> list[StoredRow]:
        out = []
        for part in chunks(sorted(set(int(i) for i in ids))):
            for row_id in part:
                out += [_stored(row) for row in self._db.select(id=row_id, **filters)]
        return out

    def present(self, ids: Sequence[int]) -> set[int]:
        return {int(i) for i in set(ids) if self._db.count(id=int(i))}

    def count(self, filters: Mapping[str, Any]) -> int:
        return int(self._db.count(**filters))

    def text_values(self, key: str) -> set[str]:
        return {row.get(key) for row in self._db.select(key, include_data=False)}

    def energies(self, filters: Mapping[str, Any], calculator: str | None) -> list[EnergyRow]:
        selection = {**filters, **({"calculator": calculator} if calculator is not None else {})}
        return [EnergyRow(int(r.id), composition_of(r.numbers), len(r.numbers), float(r.energy),
                          r.get("job_hash"), r.get("content_hash"))
                for r in self._db.select(include_data=False, **selection)
                if r.get("energy") is not None]


def _rollback(connection: Any) -> None:
    rollback = getattr(connection, "rollback", None)
    if rollback is None:  # ase_db_backends' PostgreSQL wrapper hides the psycopg2 connection
        rollback = connection.con.rollback
    rollback()


def _atoms_row(row: NewRow) -> Any:
    """The ASE-db row, built directly (as ``AtomsRow(atoms)`` would with a single-point
    calculator attached, without its costly state comparisons)."""
    from ase.db.core import now
    from ase.db.row import AtomsRow, atoms2dict

    bare = row.atoms.copy()
    bare.calc = None
    record = atoms2dict(bare)
    record["calculator"] = row.calculator
    record["calculator_parameters"] = {}
    record["energy"] = float(row.energy)
    if row.forces is not None:
        record["forces"] = np.asarray(row.forces, dtype=float)
    if row.stress is not None:
        record["stress"] = np.asarray(row.stress, dtype=float)
    atoms_row = AtomsRow(record)
    atoms_row.ctime = now()
    atoms_row.user = os.getenv("USER")
    return atoms_row


def _stored(row: Any) -> StoredRow:
    atoms = row.toatoms()
    atoms.calc = None
    return StoredRow(int(row.id), atoms, float(row.energy), row.get("forces"), row.get("stress"),
                     row.get("calculator"), dict(row.key_value_pairs), dict(row.get("data") or {}))
