"""Deleted store rows, a deleted store, altered rows, tampered snapshots: detected against the
snapshots; reference rows are rebuilt from the job directories under their old ids."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from ase.build import bulk

from alearn.campaign.layout import CampaignDir
from alearn.campaign.datahash import content_hash
from alearn.campaign.records import read_manifests
from alearn.campaign.setup import reconcile_store
from alearn.campaign.snapshot import SnapshotError, commit, verify_all
from alearn.data.records import Labels, Provenance, Source
from alearn.data.store import Store
from alearn.errors import UserError
from alearn.files import write_json_atomic
from alearn.label.dispatcher import label_structures
from alearn.label.engines import InProcessEngine
from alearn_calculators.analytic import EmtCalculator

LOG = logging.getLogger("tampering")


def cells(n: int) -> list:
    out = []
    for k in range(n):
        atoms = bulk("Cu", cubic=True)
        atoms.rattle(0.04, seed=k)
        atoms.arrays["alearn_complete"] = [k % 2 == 0] * len(atoms)
        out.append(atoms)
    return out


def campaign(root: Path, with_import: bool = False) -> tuple[CampaignDir, list, list]:
    """A campaign directory with one committed snapshot whose dataset is 6 EMT labels."""
    layout = CampaignDir(root)
    layout.create()
    calc = EmtCalculator(EmtCalculator.Params())
    with Store.open(root / "store.db") as store:
        report = label_structures(cells(6), calc, calc.params.profile, store,
                                  engine=InProcessEngine(), jobs_dir=layout.jobs, subset="bulk")
        ids = list(report.row_ids)
        if with_import:
            extra = bulk("Cu", cubic=True)
            extra.rattle(0.1, seed=99)
            ids.append(store.add(extra, Labels(-0.1), Provenance(Source.IMPORTED)).id)
        rows = list(store.rows(ids=ids))
    staging = layout.staging(0)
    staging.mkdir(parents=True)
    write_json_atomic(staging / "progress.json", {"stages": {}})
    body = {"parent": None, "parent_manifest_sha256": None,
            "dataset": {"train_ids": ids[:4], "test_ids": ids[4:], "content_sha256": content_hash(rows)}}
    commit(layout, 0, body)
    return layout, read_manifests(layout), rows


def delete_rows(path: Path, ids: list[int]) -> None:
    with sqlite3.connect(path) as connection:
        for table in ("systems",):
            connection.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in ids])
        for table in ("species", "keys", "text_key_values", "number_key_values"):
            connection.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in ids])


def same_rows(before: list, after: list) -> None:
    assert [r.id for r in after] == [r.id for r in before]
    assert content_hash(after) == content_hash(before)
    for old, new in zip(before, after):
        assert new.provenance == old.provenance
        assert (new.atoms.arrays["alearn_complete"] == old.atoms.arrays["alearn_complete"]).all()


def test_deleted_rows_are_rebuilt_under_their_ids(tmp_path: Path) -> None:
    layout, manifests, rows = campaign(tmp_path / "c")
    delete_rows(tmp_path / "c" / "store.db", [rows[1].id, rows[4].id])
    with Store.open(tmp_path / "c" / "store.db") as store:
        assert len(store) == 4
        reconcile_store(store, layout, manifests, LOG)
        same_rows(rows, list(store.rows()))


def test_a_deleted_store_is_rebuilt_from_the_job_directories(tmp_path: Path) -> None:
    layout, manifests, rows = campaign(tmp_path / "c")
    (tmp_path / "c" / "store.db").unlink()
    with Store.open(tmp_path / "c" / "store.db") as store:
        reconcile_store(store, layout, manifests, LOG)
        same_rows(rows, list(store.rows()))


def test_rows_no_job_directory_holds_stop_the_resume_with_advice(tmp_path: Path) -> None:
    layout, manifests, rows = campaign(tmp_path / "c", with_import=True)
    delete_rows(tmp_path / "c" / "store.db", [rows[0].id, rows[-1].id])
    with Store.open(tmp_path / "c" / "store.db") as store:
        with pytest.raises(UserError, match=rf"lacks 1 rows .*\({rows[-1].id}\).*imported"):
            reconcile_store(store, layout, manifests, LOG)
        assert rows[0].id in store.present([rows[0].id])  # the reference row is back


def test_altered_rows_are_detected(tmp_path: Path) -> None:
    layout, manifests, rows = campaign(tmp_path / "c")
    with sqlite3.connect(tmp_path / "c" / "store.db") as connection:
        connection.execute("UPDATE systems SET energy = energy + 1 WHERE id = ?", (rows[2].id,))
    with Store.open(tmp_path / "c" / "store.db") as store:
        with pytest.raises(UserError, match="were changed after it was committed"):
            reconcile_store(store, layout, manifests, LOG)


@pytest.mark.parametrize("tamper", ["manifest", "progress", "extra file", "missing file"])
def test_tampered_snapshots_are_refused(tmp_path: Path, tamper: str) -> None:
    layout, _, _ = campaign(tmp_path / "c")
    snapshot = layout.snapshot(0)
    for path in snapshot.rglob("*"):
        path.chmod(0o644)
    if tamper == "manifest":
        text = (snapshot / "manifest.json").read_text().replace('"parent": null', '"parent": 0')
        (snapshot / "manifest.json").write_text(text)
    elif tamper == "progress":
        (snapshot / "progress.json").write_text('{"stages": {"x": 1}}')
    elif tamper == "extra file":
        (snapshot / "notes.txt").write_text("hello")
    else:
        (snapshot / "progress.json").unlink()
    with pytest.raises(SnapshotError):
        verify_all(layout)
