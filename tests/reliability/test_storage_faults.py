"""A full disk or a read-only directory: exit 2 with what, where and how much space; never a
damaged store; once the fault is fixed the same command ends with the data of a run that had
no fault."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from alearn.cli import main
from alearn.data.store import Store

HEXAMER = Path(__file__).resolve().parents[2] / "campaigns" / "structures" / "water-hexamer.xyz"
MiB = 1 << 20


@pytest.fixture(scope="module")
def frames_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 labelled (H2O)6 clusters: a store of about 700 KB."""
    rng = np.random.default_rng(0)
    base = read(HEXAMER)
    frames = []
    for _ in range(300):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.03, atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-829.0 + rng.normal(0.0, 0.3),
                                           forces=rng.normal(0.0, 0.5, (len(atoms), 3)))
        frames.append(atoms)
    path = tmp_path_factory.mktemp("frames") / "h300.xyz"
    write(path, frames, format="extxyz")
    return path


def content(store_path: Path) -> list[str]:
    with Store.open(store_path) as store:
        return sorted(r.atoms.info["content_hash"] for r in store.rows())


@pytest.fixture(scope="module")
def reference_content(frames_file: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    store = tmp_path_factory.mktemp("reference") / "store.db"
    assert main(["import", str(frames_file), "--into", str(store), "--quiet"]) == 0
    return content(store)


def healthy(path: Path) -> None:
    """SQLite finds no damage and ASE itself can open and count the store."""
    import ase.db

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ase.db.connect(str(path)).count()


@pytest.mark.parametrize("leave", [0, 4096, 64 * 1024, 256 * 1024, 512 * 1024])
def test_import_on_a_full_disk_stops_cleanly_and_resumes(leave, small_disk, frames_file,
                                                         reference_content, capsys) -> None:
    disk = small_disk(MiB)
    disk.fill(leave)
    store = disk.root / "store.db"
    assert main(["import", str(frames_file), "--into", str(store), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert f"{store}" in message and "free of 1.0 MiB" in message and "Traceback" not in message
    assert "full" in message
    if store.exists():
        healthy(store)
    disk.release()
    assert main(["import", str(frames_file), "--into", str(store), "--quiet"]) == 0
    healthy(store)
    assert content(store) == reference_content


def test_labelling_on_a_full_disk_stops_with_exit_2_and_resumes(small_disk, tmp_path,
                                                                capsys) -> None:
    structures = []
    for k in range(12):
        atoms = bulk("Cu", cubic=True)
        atoms.rattle(0.05, seed=k)
        structures.append(atoms)
    source = tmp_path / "cu.xyz"
    write(source, structures)
    calc = tmp_path / "emt.toml"
    calc.write_text('[reference]\nkind = "emt"\n\n[dispatch]\nengine = "inprocess"\n')
    reference = tmp_path / "ref.db"
    assert main(["label", str(source), "-c", str(calc), "--into", str(reference)]) == 0
    disk = small_disk(MiB)
    argv = ["label", str(source), "-c", str(calc), "--into", str(disk.root / "store.db")]
    disk.fill(160 * 1024)
    assert main(argv) == 2
    message = capsys.readouterr().err
    assert "free of 1.0 MiB" in message and str(disk.root) in message
    disk.release()
    assert main(argv) == 0
    healthy(disk.root / "store.db")
    with Store.open(reference) as ours, Store.open(disk.root / "store.db") as theirs:
        assert sorted(r.atoms.info["content_hash"] for r in ours.rows()) == \
            sorted(r.atoms.info["content_hash"] for r in theirs.rows())
    attempts = list((disk.root / "jobs").glob("*/attempt_*/outcome.json"))
    failed = [p for p in attempts if '"failed"' in p.read_text()]
    assert not failed, "a full disk used up attempts of calculations"


def test_read_only_directories_are_exit_2_with_the_path(small_disk, frames_file, tmp_path,
                                                        capsys) -> None:
    disk = small_disk(4 * MiB)
    store = disk.root / "store.db"
    assert main(["import", str(frames_file), "--into", str(store), "--quiet"]) == 0
    disk.read_only()
    try:
        assert main(["import", str(frames_file), "--into", str(disk.root / "new.db"),
                     "--quiet"]) == 2
        message = capsys.readouterr().err
        assert "read-only" in message and str(disk.root) in message
        assert main(["export-data", str(store), str(tmp_path / "out.xyz")]) == 0  # reading works
        assert main(["export-data", str(store), str(disk.root / "out.xyz")]) == 2
        assert "read-only" in capsys.readouterr().err
    finally:
        disk.read_only(False)
    healthy(store)


def test_alearn_run_on_a_read_only_campaign_directory_is_exit_2(small_disk, tmp_path,
                                                                capsys) -> None:
    import shutil

    from alearn.campaign.setup import open_campaign

    data = Path(__file__).resolve().parents[1] / "campaign" / "data"
    for name in ("tiny-emt.toml", "cu4.xyz"):
        shutil.copy(data / name, tmp_path / name)
    disk = small_disk(4 * MiB)
    open_campaign(tmp_path / "tiny-emt.toml", disk.root / "run", allow_changes=False)
    disk.read_only()
    try:
        assert main(["run", str(disk.root / "run"), "--quiet"]) == 2
        message = capsys.readouterr().err
        assert "read-only" in message and str(disk.root / "run") in message
        assert "Traceback" not in message
    finally:
        disk.read_only(False)
