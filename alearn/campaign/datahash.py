"""The order-independent hash of a snapshot's labelled data (what its manifest records)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from alearn.files import sha256_text


def content_hash(rows: list[Any]) -> str:
    """Order-independent hash of the labelled data (structure, labels, source) of ``rows``."""
    digests = sorted(_row_digest(r) for r in rows)
    return sha256_text("\n".join(digests))


def _row_digest(row: Any) -> str:
    h = hashlib.sha256()
    h.update(np.asarray(row.atoms.numbers, dtype=np.int64).tobytes())
    h.update((np.round(row.atoms.positions, 6) + 0.0).tobytes())
    h.update((np.round(np.asarray(row.atoms.cell, dtype=float), 6) + 0.0).tobytes())
    h.update(f"{row.labels.energy:.6f}:{row.provenance.source.value}".encode())
    if row.labels.forces is not None:
        h.update((np.round(np.asarray(row.labels.forces, dtype=float), 5) + 0.0).tobytes())
    return h.hexdigest()
