"""Bookkeeping of the seed 003 and seed 001 studies (benchmarks/papers/), not their figures:
fragments drawn up to an atom budget from distinct centres, the reference force on a fragment's
centre converging to the bulk one with the radius, and a close-contact set that stays between
the data's shortest distance and the walkers' limit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

PAPERS = Path(__file__).resolve().parents[2] / "benchmarks" / "papers"


@pytest.fixture()
def studies(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(PAPERS))
    for name in ("common", "seed003_fragments", "seed001_close_contacts"):
        sys.modules.pop(name, None)
    import common
    import seed001_close_contacts
    import seed003_fragments

    monkeypatch.setattr(common, "CACHE", tmp_path)
    yield common, seed003_fragments, seed001_close_contacts
    for name in ("common", "seed003_fragments", "seed001_close_contacts"):
        sys.modules.pop(name, None)


def _rattled(cu, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        atoms = cu.crystal()
        atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
        out.append(atoms)
    return out


def test_fragments_fill_the_atom_budget_from_distinct_centres(studies):
    common, cu, _ = studies
    parents = _rattled(cu, 2, 0)
    frags, centres = cu.fragments(parents, 200, None, np.random.default_rng(1))
    total = sum(len(f) for f in frags)
    assert total >= 200 and total - len(frags[-1]) < 200
    assert len(set(centres)) == len(centres)
    assert all(not f.pbc.any() for f in frags)
    assert len(cu.fragments(parents, None, 3, np.random.default_rng(1))[0]) == 3


def test_centre_force_converges_with_the_fragment_radius(studies):
    common, cu, _ = studies
    parents, _ = common.label(_rattled(cu, 1, 2), cu.reference())
    errors = []
    for radius in (4.0, 6.5):
        frags, centres = cu.fragments([parents[0].atoms], None, 4, np.random.default_rng(3), radius)
        rows, _ = common.label(frags, cu.reference())
        errors.append(cu.centre_force_error(rows, centres, parents).mean())
    assert errors[1] < 0.1 * errors[0]
    assert errors[0] > 0.01                           # R = Rc: fragment forces are not bulk forces


def test_close_contact_rows_sit_below_the_data_and_above_the_limit(studies):
    common, cu, cc = studies
    train, _ = common.label(_rattled(cu, 2, 4), cu.reference())
    rows, facts = cc.correction_rows(train, 2, seed=0)
    assert 1 <= len(rows) <= 2
    assert facts["contact_max_A"] <= facts["data_min_A"] - 0.1 + 1e-6
    assert facts["contact_min_A"] >= 0.6 * 2 * 1.32 - 1e-3
    assert facts["pressure_max_GPa"] > 10.0            # compressed cells: high pressure
