"""What the store's two backends (plain SQL on SQLite, ASE's API elsewhere) exchange.

A backend knows how rows are kept; :class:`alearn.data.store.Store` knows what a row means
(validation, deduplication, provenance).  Rows travel as :class:`NewRow` (to be written) and
:class:`StoredRow` (read back).  Filters are ``{key: value}`` on the rows' key-value pairs
(text or number), ANDed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
from ase import Atoms

#: ids per query when rows are fetched by id (keeps every query short and memory bounded)
ID_CHUNK = 2000


@dataclass(frozen=True)
class NewRow:
    """A validated structure and what goes with it, ready to be written."""

    atoms: Atoms
    energy: float
    forces: np.ndarray | None
    stress: np.ndarray | None          # Voigt 6-vector
    calculator: str
    key_values: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)


class StoredRow(NamedTuple):
    """A row as read back: the bare structure, its labels, key-value pairs and data (a named
    tuple: rows are read by the hundred thousand)."""

    id: int
    atoms: Atoms
    energy: float
    forces: np.ndarray | None
    stress: np.ndarray | None
    calculator: str | None
    key_values: Mapping[str, Any]
    data: Mapping[str, Any]


class EnergyRow(NamedTuple):
    """What the label gate needs of a row: composition, size, energy, and its identity."""

    id: int
    composition: tuple[tuple[int, int], ...]   # (atomic number, count), ascending
    natoms: int
    energy: float
    job_hash: str | None = None
    content_hash: str | None = None


def composition_of(numbers: np.ndarray) -> tuple[tuple[int, int], ...]:
    """``(Z, count)`` pairs of a structure, ascending in Z."""
    values, counts = np.unique(np.asarray(numbers, dtype=np.int64), return_counts=True)
    return tuple((int(z), int(n)) for z, n in zip(values, counts))


class Backend(Protocol):
    """The operations :class:`~alearn.data.store.Store` needs of a database."""

    location: str

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction around the block (nested blocks join the outer one)."""

    def insert(self, rows: Sequence[NewRow], ids: Sequence[int | None] | None = None) -> list[int]:
        """Write ``rows`` (inside a transaction); explicit ``ids`` restore rows by their old id."""

    def first_ids(self, key: str, values: Iterable[str]) -> dict[str, int]:
        """The lowest row id holding each text ``value`` under ``key`` (absent values left out)."""

    def ids(self, filters: Mapping[str, Any]) -> list[int]:
        """Ids of every row matching ``filters``, ascending."""

    def fetch(self, ids: Sequence[int], filters: Mapping[str, Any]) -> list[StoredRow]:
        """The rows with these ids that match ``filters``, ascending by id."""

    def present(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are rows of the store."""

    def count(self, filters: Mapping[str, Any]) -> int:
        """Number of rows matching ``filters``."""

    def text_values(self, key: str) -> set[str]:
        """Every text value stored under ``key``."""

    def energies(self, filters: Mapping[str, Any], calculator: str | None) -> list[EnergyRow]:
        """Composition and energy of the matching rows (of ``calculator``, when given)."""

    def close(self) -> None:
        """Release connections (reconnects on demand)."""


def chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    """``ids`` in consecutive pieces of at most ``size``."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
