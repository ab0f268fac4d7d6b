"""Frozen records that travel between modules: labels, provenance and labelled structures."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from ase import Atoms


#: prefix of the per-atom arrays that travel with a structure into the store (e.g.
#: ``alearn_complete``, the fragment atoms with complete environments)
ARRAY_PREFIX = "alearn_"


class Source(str, enum.Enum):
    """Where the labels of a stored structure come from."""

    REFERENCE = "reference"
    TAYLOR = "taylor"
    GPR = "gpr"
    IMPORTED = "imported"


@dataclass(frozen=True)
class Labels:
    """Reference labels of one structure: eV, eV/Å, and stress in eV/Å³ (ASE Voigt order)."""

    energy: float
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Provenance:
    """How a stored structure came to be.

    ``params_hash`` hashes the calculator parameters; ``job_hash`` names the job directory of a
    reference calculation (and is the store's idempotency key); ``parent`` is the store row a
    derived (taylor / gpr) structure was made from; ``std`` is the surrogate's energy std (eV)
    for GPR-labelled rows.
    """

    source: Source
    iteration: int = 0
    calculator: str | None = None
    params_hash: str | None = None
    job_hash: str | None = None
    subset: str | None = None
    parent: int | None = None
    std: float | None = None


@dataclass(frozen=True)
class LabelledStructure:
    """A row of the store: the structure, its labels, where they came from, and its row id."""

    atoms: Atoms
    labels: Labels
    provenance: Provenance
    id: int | None = None
