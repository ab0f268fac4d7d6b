"""The store on SQLite: ASE's database schema (format version 9), read and written with plain SQL.

The file is an ordinary ASE database (``ase db store.db``, ``ase.db.connect`` read and write
it), but rows go in and out here without ASE's per-row machinery: a batch of rows is one
``executemany`` per table inside one transaction, a read decodes the columns straight into
``Atoms``, and look-ups by id or by key value are one query per :data:`~alearn.data.backend.
ID_CHUNK` values (``json_each``), never one per value.

**Creation is atomic.**  ASE creates its tables one statement at a time; a first write that
failed (a full disk) could leave a file whose ``information`` table is empty, which ASE can
never open again.  Here the schema is built in a temporary file beside the target and renamed
into place only when complete, and such a half-created file (schema, no version, no rows) is
repaired when it is opened.  Transactions are explicit (``BEGIN IMMEDIATE`` … ``COMMIT``,
rolled back on any error); each commit is durable (SQLite's ``synchronous = FULL``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_masses
from ase.db.core import bytes_to_object, now, object_to_bytes
from ase.io.jsonio import decode, encode

from alearn.data.backend import EnergyRow, NewRow, StoredRow, chunks, composition_of
from alearn.files import fsync_dir

#: the ASE database format this backend reads and writes
FORMAT_VERSION = 9
#: (key, value) indices: ASE indexes key-value tables by key only, which makes every look-up
#: by value a scan of all rows
ALEARN_INDICES = (
    "CREATE INDEX IF NOT EXISTS alearn_text_key_value ON text_key_values(key, value)",
    "CREATE INDEX IF NOT EXISTS alearn_number_key_value ON number_key_values(key, value)",
)
_COLUMNS = ("id, numbers, positions, cell, pbc, initial_magmoms, initial_charges, masses, tags, "
            "momenta, constraints, calculator, energy, forces, stress, key_value_pairs, data")
_PLACEHOLDERS = ", ".join("?" * 33)
_TIMEOUT_S = 60.0
#: page cache per connection (KiB; SQLite's default is 2 000): the key-value indices of a large
#: store are updated at random places (hash values), which a small cache reads again and again
_CACHE_KIB = 65536
#: the data column of a row without data (decoding it is skipped)
_NO_DATA = object_to_bytes({})
#: pbc flags by the column's bit pattern (x = 1, y = 2, z = 4)
_PBC = tuple((bool(b & 1), bool(b & 2), bool(b & 4)) for b in range(8))


def format_version(path: Path) -> int | None:
    """The ASE format version of an existing SQLite store (``None``: not initialised yet).

    The probe opens the file read-write where it can be written: a process killed inside a
    transaction leaves a hot journal, which only a writable connection rolls back (a read-only
    one fails with "attempt to write a readonly database", SQLITE_READONLY_ROLLBACK)."""
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    mode = "rw" if writable else "ro"
    con = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=_TIMEOUT_S)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "systems" not in tables:
            return None
        if "information" not in tables:
            return 2
        row = con.execute("SELECT value FROM information WHERE name='version'").fetchone()
        return None if row is None else int(row[0])
    finally:
        con.close()


class SqliteBackend:
    """Rows of an ASE SQLite database (see module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._con: sqlite3.Connection | None = None
        self._depth = 0

    @classmethod
    def open(cls, path: Path) -> "SqliteBackend":
        """Open the store at ``path``, creating it atomically or repairing a half-created one."""
        if not path.exists() or path.stat().st_size == 0:
            create_atomically(path)
        backend = cls(path)
        backend._repair_and_index()
        return backend

    # connection and transactions ---------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = sqlite3.connect(self.path, timeout=_TIMEOUT_S, isolation_level=None,
                                        check_same_thread=False)  # one user at a time
            self._con.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        return self._con

    def close(self) -> None:
        if self._con is not None and self._depth == 0:
            self._con.close()
            self._con = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        con = self.connection()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        con.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def _repair_and_index(self) -> None:
        """Add a missing version row (a half-created file of an older alearn or of ASE itself)
        and the look-up indices."""
        with self.transaction():
            con = self.connection()
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "systems" not in tables:
                raise sqlite3.DatabaseError("no 'systems' table: not an ASE database")
            if "information" not in tables:
                con.execute("CREATE TABLE information (name TEXT, value TEXT)")
            if con.execute("SELECT 1 FROM information WHERE name='version'").fetchone() is None:
                con.execute("INSERT INTO information VALUES ('version', ?)", (str(FORMAT_VERSION),))
            for statement in ALEARN_INDICES:
                con.execute(statement)

    # writing -------------------------------------------------------------------------------------

    def insert(self, rows: Sequence[NewRow], ids: Sequence[int | None] | None = None) -> list[int]:
        """Write ``rows`` (inside :meth:`transaction`, which holds the write lock, so the new
        ids are the next ones after every id ever used, as AUTOINCREMENT would give them)."""
        con = self.connection()
        start = self._next_id()
        wanted = list(ids) if ids is not None else [None] * len(rows)
        fresh = iter(range(start, start + sum(1 for i in wanted if i is None)))
        out = [int(i) if i is not None else next(fresh) for i in wanted]
        stamp, user = _now(), os.getenv("USER")
        con.executemany(f"INSERT INTO systems VALUES ({_PLACEHOLDERS})",
                        [_system_values(row, row_id, unique, stamp, user)
                         for row, row_id, unique in zip(rows, out, _unique_ids(len(rows)))])
        con.executemany("INSERT INTO species VALUES (?, ?, ?)",
                        [(z, n, i) for row, i in zip(rows, out) for z, n in _species(row.atoms.numbers)])
        con.executemany("INSERT INTO keys VALUES (?, ?)",
                        [(key, i) for row, i in zip(rows, out) for key in row.key_values])
        con.executemany("INSERT INTO text_key_values VALUES (?, ?, ?)",
                        [(k, v, i) for row, i in zip(rows, out)
                         for k, v in row.key_values.items() if isinstance(v, str)])
        con.executemany("INSERT INTO number_key_values VALUES (?, ?, ?)",
                        [(k, float(v), i) for row, i in zip(rows, out)
                         for k, v in row.key_values.items() if not isinstance(v, str)])
        return out

    def _next_id(self) -> int:
        con = self.connection()
        used = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'systems'").fetchone()
        largest = con.execute("SELECT MAX(id) FROM systems").fetchone()[0]
        return max(int(used[0]) if used else 0, int(largest or 0)) + 1

    # reading -------------------------------------------------------------------------------------

    def first_ids(self, key: str, values: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(values))
        found: dict[str, int] = {}
        for part in chunks(wanted):
            found.update(self.connection().execute(
                "SELECT value, MIN(id) FROM text_key_values WHERE key = ? AND value IN "
                "(SELECT value FROM json_each(?)) GROUP BY value", (key, json.dumps(list(part)))))
        return {k: int(v) for k, v in found.items()}

    def ids(self, filters: Mapping[str, Any]) -> list[int]:
        where, args = _where(filters)
        query = f"SELECT id FROM systems WHERE {where} ORDER BY id"
        return [int(r[0]) for r in self.connection().execute(query, args)]

    def fetch(self, ids: Sequence[int], filters: Mapping[str, Any]) -> list[StoredRow]:
        where, args = _where(filters)
        out: list[StoredRow] = []
        for part in chunks(sorted(set(int(i) for i in ids))):
            query = (f"SELECT {_COLUMNS} FROM systems WHERE id IN (SELECT value FROM json_each(?)) "
                     f"AND {where} ORDER BY id")
            out += [_decode(values) for values in
                    self.connection().execute(query, (json.dumps(list(part)), *args))]
        return out

    def present(self, ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for part in chunks(sorted(set(int(i) for i in ids))):
            found.update(int(r[0]) for r in self.connection().execute(
                "SELECT id FROM systems WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(part)),)))
        return found

    def count(self, filters: Mapping[str, Any]) -> int:
        where, args = _where(filters)
        return int(self.connection().execute(f"SELECT COUNT(*) FROM systems WHERE {where}",
                                             args).fetchone()[0])

    def text_values(self, key: str) -> set[str]:
        return {r[0] for r in self.connection().execute(
            "SELECT DISTINCT value FROM text_key_values WHERE key = ?", (key,))}

    def energies(self, filters: Mapping[str, Any], calculator: str | None) -> list[EnergyRow]:
        where, args = _where(filters, "s.id")
        if calculator is not None:
            where, args = where + " AND s.calculator = ?", (*args, calculator)
        query = ("SELECT s.id, s.numbers, s.energy, j.value, c.value FROM systems s "
                 "LEFT JOIN text_key_values j ON j.id = s.id AND j.key = 'job_hash' "
                 "LEFT JOIN text_key_values c ON c.id = s.id AND c.key = 'content_hash' "
                 f"WHERE {where} AND s.energy IS NOT NULL")
        out = []
        for row_id, numbers, energy, job, digest in self.connection().execute(query, args):
            z = np.frombuffer(numbers, np.int32)
            out.append(EnergyRow(int(row_id), composition_of(z), len(z), float(energy), job, digest))
        return out


def create_atomically(path: Path) -> None:
    """Build an empty ASE database in a temporary file beside ``path`` and rename it there."""
    from ase.db.sqlite import index_statements, init_statements

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".creating", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            for statement in (*init_statements, *index_statements, *ALEARN_INDICES):
                con.execute(statement)
            con.execute("COMMIT")
        finally:
            con.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        for leftover in (Path(tmp), Path(tmp + "-journal")):
            leftover.unlink(missing_ok=True)


# encoding ----------------------------------------------------------------------------------------

def _now() -> float:
    return float(now())


def _blob(array: Any, dtype: Any = np.float64) -> bytes | None:
    if array is None:
        return None
    return np.ascontiguousarray(array, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<"),
                                                            copy=False).tobytes()


def _unique_ids(count: int) -> list[str]:
    """``count`` random 128-bit hex ids (ASE's ``unique_id`` column), from one system call."""
    text = os.urandom(16 * count).hex()
    return [text[32 * k:32 * (k + 1)] for k in range(count)]


def _species(numbers: np.ndarray) -> list[tuple[int, int]]:
    """(Z, count) in order of first appearance, as ASE's ``count_atoms`` gives them."""
    seen: dict[int, int] = {}
    for z in numbers.tolist():
        seen[z] = seen.get(z, 0) + 1
    return list(seen.items())


def _system_values(row: NewRow, row_id: int | None, unique_id: str, stamp: float,
                   user: str | None) -> tuple:
    atoms = row.atoms
    numbers = atoms.numbers
    cell = atoms.cell.array
    arrays = atoms.arrays
    masses = arrays.get("masses")
    charges = arrays.get("initial_charges")
    forces = None if row.forces is None else np.asarray(row.forces, dtype=float)
    stress = None if row.stress is None else np.asarray(row.stress, dtype=float)
    constraints = encode([c.todict() for c in atoms.constraints]) if atoms.constraints else None
    volume = abs(float(np.linalg.det(cell)))
    mass = float(masses.sum()) if masses is not None else float(atomic_masses[numbers].sum())
    return (
        row_id, unique_id, stamp, stamp, user,
        _blob(numbers, np.int32), _blob(atoms.positions), _blob(cell),
        int(np.dot(atoms.pbc, [1, 2, 4])),
        _blob(arrays.get("initial_magmoms")), _blob(charges), _blob(masses),
        _blob(arrays.get("tags"), np.int32), _blob(arrays.get("momenta")), constraints,
        row.calculator, "{}", float(row.energy), None, _blob(forces), _blob(stress),
        None, None, None, None, encode(dict(row.key_values)),
        object_to_bytes(dict(row.data)) if row.data else _NO_DATA,
        len(numbers),
        None if forces is None or len(forces) == 0 else float(np.sqrt((forces ** 2).sum(1).max())),
        None if stress is None else float(np.sqrt((stress ** 2).max())),
        volume if volume > 0.0 else None, mass,
        float(charges.sum()) if charges is not None else 0.0,
    )


# decoding ----------------------------------------------------------------------------------------

def _array(buf: bytes | None, dtype: Any = np.float64, shape: tuple[int, ...] | None = None,
           copy: bool = False) -> np.ndarray | None:
    """The array of a blob (a read-only view unless ``copy``; ASE blobs are little-endian)."""
    if buf is None:
        return None
    array = np.frombuffer(buf, np.dtype(dtype).newbyteorder("<"))
    if copy or not array.dtype.isnative:
        array = array.astype(dtype)
    return array if shape is None else array.reshape(shape)


def _decode(values: tuple) -> StoredRow:
    (row_id, numbers, positions, cell, pbc, magmoms, charges, masses, tags, momenta, constraints,
     calculator, energy, forces, stress, key_values, data) = values
    optional: dict[str, Any] = {}
    for name, buf, dtype, shape in (("magmoms", magmoms, np.float64, None),
                                    ("charges", charges, np.float64, None),
                                    ("masses", masses, np.float64, None),
                                    ("tags", tags, np.int32, None),
                                    ("momenta", momenta, np.float64, (-1, 3))):
        if buf is not None:
            optional[name] = _array(buf, dtype, shape)
    if constraints:
        from ase.constraints import dict2constraint

        optional["constraint"] = [dict2constraint(d) for d in decode(constraints)]
    atoms = Atoms(numbers=_array(numbers, np.int32), positions=_array(positions, shape=(-1, 3)),
                  cell=_array(cell, shape=(3, 3)),
                  pbc=_PBC[int(pbc or 0) & 7], **optional)
    return StoredRow(int(row_id), atoms, float(energy), _array(forces, shape=(-1, 3), copy=True),
                     _array(stress, copy=True), calculator, json.loads(key_values) if key_values else {},
                     _decode_data(data))


def _decode_data(data: Any) -> dict[str, Any]:
    if data is None or data == _NO_DATA or data in ("null", b"null"):
        return {}
    if isinstance(data, str):
        return dict(decode(data) or {})
    return dict(bytes_to_object(data) or {})


def _where(filters: Mapping[str, Any], column: str = "id") -> tuple[str, tuple]:
    """SQL condition and arguments for ``{key: value}`` filters on key-value pairs."""
    clauses, args = ["1"], []
    for key, value in filters.items():
        table = "text_key_values" if isinstance(value, str) else "number_key_values"
        clauses.append(f"{column} IN (SELECT id FROM {table} WHERE key = ? AND value = ?)")
        args += [key, value if isinstance(value, str) else float(value)]
    return " AND ".join(clauses), tuple(args)
