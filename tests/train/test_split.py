"""The validation split goes by parent structure: derived copies never cross it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from ase import Atoms

from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.train.data import split


def rows() -> list[LabelledStructure]:
    out = []
    for k in range(10):
        atoms = Atoms("H2", positions=[[0, 0, 0], [0.7 + 0.01 * k, 0, 0]])
        parent = LabelledStructure(atoms, Labels(-1.0), Provenance(Source.REFERENCE), id=k + 1)
        out.append(parent)
        for c in range(3):
            copy = replace(parent, id=100 + 10 * k + c,
                           provenance=Provenance(Source.TAYLOR, parent=k + 1))
            out.append(copy)
    return out


def test_copies_stay_with_their_parents_and_never_validate():
    data = rows()
    train, valid = split(data, 0.3, np.random.default_rng(0))
    assert len(valid) == 3 and all(r.provenance.source is Source.REFERENCE for r in valid)
    held = {r.id for r in valid}
    assert not any(r.provenance.parent in held for r in train)
    kept = {r.id for r in train if r.provenance.source is Source.REFERENCE}
    assert kept | held == set(range(1, 11)) and not kept & held
    assert sum(r.provenance.parent in kept for r in train) == 3 * len(kept)


def test_rows_without_ids_split_as_before():
    data = [replace(r, id=None) for r in rows() if r.provenance.source is Source.REFERENCE]
    train, valid = split(data, 0.2, np.random.default_rng(1))
    assert len(valid) == 2 and len(train) == 8
