"""Per-atom ``alearn_*`` arrays (fragment completeness) survive the store and the dispatcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk, molecule

from alearn.campaign.progress import load_structures, save_structures
from alearn.data.records import Labels, Provenance, Source
from alearn.data.store import Store
from alearn.errors import UserError


@pytest.fixture()
def store(tmp_path: Path):
    with Store.open(tmp_path / "store.db") as opened:
        yield opened


def fragment():
    atoms = molecule("CH3CH2OH")
    atoms.arrays["alearn_complete"] = np.arange(len(atoms)) % 3 == 0
    atoms.arrays["other"] = np.ones(len(atoms))  # not an alearn_ array: not kept
    return atoms


def test_alearn_arrays_round_trip(store: Store) -> None:
    atoms = fragment()
    labels = Labels(-3.0, np.zeros((len(atoms), 3)), extra={"scf_iterations": 7})
    row_id = store.add(atoms, labels, Provenance(Source.REFERENCE, subset="frag:C2H6O")).id
    record = store.get(row_id)
    complete = record.atoms.arrays["alearn_complete"]
    assert complete.dtype == bool
    np.testing.assert_array_equal(complete, atoms.arrays["alearn_complete"])
    assert "other" not in record.atoms.arrays
    assert record.labels.extra == {"scf_iterations": 7}
    (listed,) = list(store.rows(subset="frag:C2H6O"))
    np.testing.assert_array_equal(listed.atoms.arrays["alearn_complete"], complete)


def test_rows_without_arrays_have_none(store: Store) -> None:
    row_id = store.add(bulk("Cu", cubic=True), Labels(-1.0), Provenance(Source.IMPORTED)).id
    record = store.get(row_id)
    assert "alearn_complete" not in record.atoms.arrays and record.labels.extra == {}


def test_reserved_extra_key_is_refused(store: Store) -> None:
    with pytest.raises(UserError, match="alearn_arrays"):
        store.add(molecule("H2O"), Labels(-1.0, extra={"alearn_arrays": 1}), Provenance(Source.IMPORTED))


def test_selected_structures_keep_the_mask_through_the_stage_file(tmp_path: Path) -> None:
    atoms = fragment()
    atoms.info["alearn_subset"] = "frag:C2H6O"
    save_structures(tmp_path / "selected.extxyz", [atoms])
    (back,) = load_structures(tmp_path / "selected.extxyz")
    assert back.info["alearn_subset"] == "frag:C2H6O"
    np.testing.assert_array_equal(back.arrays["alearn_complete"], atoms.arrays["alearn_complete"])


def test_dispatcher_stores_the_mask_with_the_reference_labels(tmp_path: Path, store: Store) -> None:
    from alearn_calculators.analytic import EmtCalculator

    from alearn.label.dispatcher import label_structures
    from alearn.label.engines import InProcessEngine

    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.pbc = False
    atoms.arrays["alearn_complete"] = np.arange(len(atoms)) < 5
    calc = EmtCalculator(EmtCalculator.Params())
    report = label_structures([atoms], calc, calc.params.profile, store, engine=InProcessEngine(),
                              jobs_dir=tmp_path / "jobs", subset="frag:Cu32")
    record = store.get(report.row_ids[0])
    assert record.provenance.subset == "frag:Cu32"
    np.testing.assert_array_equal(record.atoms.arrays["alearn_complete"], np.arange(32) < 5)
