"""The held-out test set: a fixed, deterministic fraction of the reference labels.

Membership depends only on the campaign seed and a structure's key (its job hash, or a hash of
its numbers, cell and positions for imported rows), so it never changes between runs, resumes
or later iterations.  Derived rows (Taylor / GPR) inherit nothing from a test parent: they are
dropped from training and are not test data either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from ase import Atoms

from alearn.data.records import LabelledStructure, Source

DERIVED = (Source.TAYLOR, Source.GPR)


def structure_key(atoms: Atoms) -> str:
    """A content hash of a structure (numbers, cell, pbc, positions rounded to 1e-8 Å)."""
    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.round(np.asarray(atoms.cell, dtype=float), 8).tobytes())
    digest.update(np.asarray(atoms.pbc, dtype=bool).tobytes())
    digest.update(np.round(atoms.positions, 8).tobytes())
    return digest.hexdigest()


def is_test(key: str, seed: int, fraction: float) -> bool:
    """Whether the structure with ``key`` is held out (uniform hash < fraction)."""
    if fraction <= 0.0:
        return False
    value = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:16], 16) / float(1 << 64)
    return value < fraction


def row_key(row: LabelledStructure) -> str:
    return row.provenance.job_hash or structure_key(row.atoms)


@dataclass(frozen=True)
class Split:
    """Row ids of the training and test sets, sorted."""

    train: tuple[int, ...]
    test: tuple[int, ...]


def split(rows: Iterable[LabelledStructure], seed: int, fraction: float) -> Split:
    """Split store rows into training and held-out test ids."""
    rows = list(rows)
    test = {r.id for r in rows if r.provenance.source not in DERIVED
            and is_test(row_key(r), seed, fraction)}
    train = [r.id for r in rows if r.id not in test
             and not (r.provenance.source in DERIVED and r.provenance.parent in test)]
    return Split(train=tuple(sorted(i for i in train if i is not None)),
                 test=tuple(sorted(i for i in test if i is not None)))
