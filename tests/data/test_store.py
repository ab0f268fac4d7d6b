"""The store: round trips, provenance as ase-db keys, idempotency, rejections, transactions."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk, molecule

from alearn.data.records import Labels, Provenance, Source
from alearn.data.store import Inserted, Rejected, Store
from alearn.errors import UserError


@pytest.fixture()
def store(tmp_path: Path):
    with Store.open(tmp_path / "store.db") as opened:
        yield opened


def reference(job: str, iteration: int = 1) -> Provenance:
    return Provenance(Source.REFERENCE, iteration, "xtb", "p" * 8, job, "water")


def test_round_trip_of_labels_and_provenance(store: Store, crystals) -> None:
    sample = crystals[0]
    provenance = Provenance(Source.GPR, 3, "aims", "abc123", None, "bulk", parent=7, std=0.02)
    result = store.add(sample.atoms, Labels(sample.energy, sample.forces, sample.stress,
                                            {"scf_iterations": 12}), provenance)
    assert result == Inserted(1, new=True)
    record = store.get(1)
    assert record.id == 1 and record.provenance == provenance
    assert record.labels.energy == sample.energy
    np.testing.assert_array_equal(record.labels.forces, sample.forces)
    np.testing.assert_array_equal(record.labels.stress, sample.stress)
    assert record.labels.extra == {"scf_iterations": 12}
    np.testing.assert_array_equal(record.atoms.positions, sample.atoms.positions)
    np.testing.assert_array_equal(record.atoms.cell.array, sample.atoms.cell.array)
    assert record.atoms.pbc.all() and record.atoms.calc is None


def test_energy_only_structure(store: Store) -> None:
    store.add(molecule("H2O"), Labels(-5.0), Provenance(Source.TAYLOR, 2, parent=1))
    record = store.get(1)
    assert record.labels.forces is None and record.labels.stress is None
    assert record.provenance.calculator is None and record.provenance.parent == 1


def test_full_stress_tensor_is_stored_in_voigt_order(store: Store) -> None:
    full = np.array([[1, 6, 5], [6, 2, 4], [5, 4, 3]], dtype=float)
    store.add(bulk("Si"), Labels(-1.0, np.zeros((2, 3)), full), reference("j"))
    assert store.get(1).labels.stress.tolist() == [1, 2, 3, 4, 5, 6]


def test_same_job_hash_is_stored_once(store: Store, molecules) -> None:
    first = store.add(molecules[0].atoms, molecules[0].labels, reference("job-1"))
    # a different structure under the same job hash: the existing row, nothing written
    again = store.add(molecules[1].atoms, molecules[1].labels, reference("job-1"))
    assert first == Inserted(1) and again == Inserted(1, new=False)
    assert len(store) == 1 and store.has_job("job-1") and not store.has_job("job-2")
    assert store.find_job("job-1") == 1 and store.job_hashes() == {"job-1"}


def test_same_content_is_stored_once(store: Store, molecules) -> None:
    sample = molecules[0]
    store.add(sample.atoms, sample.labels, Provenance(Source.IMPORTED))
    assert store.add(sample.atoms, sample.labels, reference("j2")) == Inserted(1, new=False)
    different = Labels(sample.energy + 0.1, sample.forces)
    assert store.add(sample.atoms, different, Provenance(Source.IMPORTED)) == Inserted(2)


def test_rejected_structure_is_reported_and_not_stored(store: Store) -> None:
    atoms = molecule("H2O")
    atoms.positions[1] = atoms.positions[0] + [0.2, 0, 0]
    result = store.add(atoms, Labels(-1.0, np.zeros((3, 3))), reference("bad"))
    assert isinstance(result, Rejected) and "0.200 Å apart" in result.reason
    bad_forces = store.add(molecule("H2O"), Labels(-1.0, np.zeros((2, 3))), reference("bad2"))
    assert isinstance(bad_forces, Rejected) and "shape (2, 3)" in bad_forces.reason
    assert len(store) == 0 and not store.has_job("bad")


def test_minimum_distance_is_configurable(tmp_path: Path) -> None:
    atoms = molecule("H2")  # 0.74 Å
    with Store.open(tmp_path / "a.db", min_distance_A=0.8) as strict:
        assert isinstance(strict.add(atoms, Labels(-1.0), reference("a")), Rejected)
    with Store.open(tmp_path / "b.db", min_distance_A=0.5) as loose:
        assert isinstance(loose.add(atoms, Labels(-1.0), reference("a")), Inserted)


def test_filters_and_counts(store: Store, molecules) -> None:
    store.add(molecules[0].atoms, molecules[0].labels, reference("a", 1))
    store.add(molecules[1].atoms, molecules[1].labels, reference("b", 2))
    store.add(molecules[2].atoms, molecules[2].labels, Provenance(Source.IMPORTED, subset="old"))
    assert store.count() == 3 and store.count(source="reference") == 2
    assert store.count(source=Source.REFERENCE, iteration=2) == 1
    assert [r.id for r in store.rows(source="imported")] == [3]
    assert [r.id for r in store.rows(subset="old")] == [3]
    assert [r.id for r in store.rows(ids=[3, 1])] == [1, 3]
    assert [r.id for r in store.rows(ids=[1, 2, 3], iteration=1)] == [1]
    assert [r.id for r in store.rows()] == [1, 2, 3]


def test_add_many_is_one_transaction(store: Store, molecules) -> None:
    def items():
        yield molecules[0].atoms, molecules[0].labels, reference("a")
        yield molecules[1].atoms, molecules[1].labels, reference("b")
        raise RuntimeError("crash in the middle of a batch")

    with pytest.raises(RuntimeError):
        store.add_many(items())
    assert len(store) == 0
    results = store.add_many([(s.atoms, s.labels, reference(f"j{i}"))
                              for i, s in enumerate(molecules)] * 2)
    assert [r.new for r in results] == [True] * 3 + [False] * 3
    assert len(store) == 3


def test_provenance_is_queryable_with_ase_db(store: Store, molecules, tmp_path: Path) -> None:
    store.add(molecules[0].atoms, molecules[0].labels, reference("a"))
    store.add(molecules[1].atoms, molecules[1].labels, Provenance(Source.IMPORTED))
    import ase.db

    db = ase.db.connect(str(tmp_path / "store.db"))
    assert [row.id for row in db.select(source="reference")] == [1]
    assert [row.id for row in db.select(calculator="xtb")] == [1]
    ase_cli = Path(sys.executable).with_name("ase")
    if ase_cli.exists():
        out = subprocess.run([str(ase_cli), "db", str(tmp_path / "store.db"), "source=imported",
                              "-c", "id,source"], capture_output=True, text=True, timeout=120)
        assert "imported" in out.stdout and "Rows: 1" in out.stdout


def test_numeric_looking_text_is_refused(store: Store, molecules) -> None:
    with pytest.raises(UserError, match="subset = '3' reads as a number"):
        store.add(molecules[0].atoms, molecules[0].labels, Provenance(Source.IMPORTED, subset="3"))


def test_missing_row_and_bad_locations(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no row with id 5"):
        store.get(5)
    with pytest.raises(UserError, match="does not exist"):
        Store.open(tmp_path / "no" / "such" / "store.db")
    with pytest.raises(UserError, match="is a directory"):
        Store.open(tmp_path)
    text = tmp_path / "notes.db"
    text.write_text("this is not an SQLite database, just text " * 20)
    with pytest.raises(UserError, match="cannot open the store"):
        Store.open(text)
    with pytest.raises(UserError, match="must be positive"):
        Store.open(tmp_path / "x.db", min_distance_A=0.0)


KILLER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from ase.build import molecule
    from alearn.data.records import Labels, Provenance, Source
    from alearn.data.store import Store

    store = Store.open(sys.argv[1])
    def items():
        for i in range(50):
            if i == 20:
                os.kill(os.getpid(), signal.SIGKILL)
            atoms = molecule("H2O")
            yield atoms, Labels(-float(i), np.zeros((3, 3))), Provenance(Source.IMPORTED)
    store.add_many(items())
""")


def test_killed_writer_leaves_the_store_consistent(tmp_path: Path, molecules) -> None:
    path = tmp_path / "store.db"
    with Store.open(path) as store:
        store.add(molecules[0].atoms, molecules[0].labels, reference("before"))
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script), str(path)], env=env, timeout=120)
    assert result.returncode == -9
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Store.open(path) as store:
        assert len(store) == 1 and store.has_job("before")
        assert isinstance(store.add(molecules[1].atoms, molecules[1].labels, reference("after")),
                          Inserted)
        assert len(store) == 2


def test_lookup_indices_exist(store: Store, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "store.db") as connection:
        names = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"alearn_text_key_value", "alearn_number_key_value"} <= names
    with sqlite3.connect(tmp_path / "store.db") as connection:
        plan = " ".join(str(row) for row in connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM text_key_values WHERE key = ? AND value = ?",
            ("content_hash", "x")))
    assert "alearn_text_key_value" in plan


def test_rows_written_here_and_by_ase_read_the_same_both_ways(store: Store, crystals,
                                                              tmp_path: Path) -> None:
    """The plain-SQL writer and reader keep ASE's format: ASE reads our rows and we read its."""
    import ase.db
    from ase.calculators.singlepoint import SinglePointCalculator

    sample = crystals[0]
    atoms = sample.atoms.copy()
    atoms.set_initial_magnetic_moments([1.0, -1.0])
    atoms.arrays["alearn_flag"] = np.array([1, 0])
    store.add(atoms, Labels(sample.energy, sample.forces, sample.stress, {"note": "x"}),
              reference("j1"))
    db = ase.db.connect(str(tmp_path / "store.db"))
    row = db.get(1)
    assert row.energy == sample.energy and row.job_hash == "j1" and row.iteration == 1
    np.testing.assert_array_equal(row.forces, sample.forces)
    np.testing.assert_array_equal(row.stress, sample.stress)
    np.testing.assert_array_equal(row.toatoms().get_initial_magnetic_moments(), [1.0, -1.0])
    assert row.data["note"] == "x" and row.natoms == 2 and row.volume > 0
    theirs = crystals[1].atoms.copy()
    theirs.calc = SinglePointCalculator(theirs, energy=-3.0, forces=crystals[1].forces)
    ase_id = db.write(theirs, source="imported", iteration=0, content_hash="c" * 64)
    assert ase_id == 2
    record = store.get(ase_id)
    assert record.labels.energy == -3.0 and record.provenance.source is Source.IMPORTED
    np.testing.assert_array_equal(record.labels.forces, crystals[1].forces)
    back = store.get(1)
    np.testing.assert_array_equal(back.atoms.arrays["alearn_flag"], [1, 0])
    np.testing.assert_array_equal(back.atoms.get_initial_magnetic_moments(), [1.0, -1.0])
    shifted = Labels(crystals[0].energy + 1.0, crystals[0].forces)
    assert store.add(crystals[0].atoms, shifted, reference("j3")) == Inserted(3)  # after ASE's id


def test_half_created_store_of_a_failed_first_write_is_repaired(tmp_path: Path,
                                                                 molecules) -> None:
    """ASE creates its tables one by one: a first write that failed on a full disk left the
    tables without the version row, a file ASE can never open again."""
    from ase.db.sqlite import init_statements

    path = tmp_path / "store.db"
    with sqlite3.connect(path) as connection:
        for statement in init_statements[:-1]:  # every table, but not the version row
            connection.execute(statement)
    with Store.open(path) as store:
        assert len(store) == 0
        assert isinstance(store.add(molecules[0].atoms, molecules[0].labels, reference("a")),
                          Inserted)
    import ase.db

    assert ase.db.connect(str(path)).count() == 1


def test_id_lookups_and_job_hashes_are_single_queries(store: Store, molecules) -> None:
    statements: list[str] = []
    store.add_many([(s.atoms, s.labels, reference(f"j{i}")) for i, s in enumerate(molecules)])
    store._backend.connection().set_trace_callback(statements.append)
    assert [r.id for r in store.rows(ids=[3, 1, 2, 99])] == [1, 2, 3]
    assert store.job_hashes() == {"j0", "j1", "j2"}
    assert store.ids(source="reference") == [1, 2, 3]
    assert len(statements) == 3
