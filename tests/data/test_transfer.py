"""``alearn import`` / ``alearn export-data``: summaries, idempotent re-runs, interrupted imports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from alearn.cli import main
from alearn.data.store import Store
from alearn.data.transfer import ImportOptions, export_extxyz, import_files


def labelled(sample):
    atoms = sample.atoms.copy()
    results = {"energy": sample.energy, "forces": sample.forces}
    if sample.stress is not None:
        results["stress"] = sample.stress
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


@pytest.fixture()
def files(tmp_path: Path, molecules, crystals, writers) -> list[Path]:
    """One file of each format; one water molecule in the extxyz file has two atoms too close."""
    bad = molecules[0].atoms.copy()
    bad.positions[2] = bad.positions[0] + [0.1, 0.0, 0.0]
    bad.calc = SinglePointCalculator(bad, energy=1.0, forces=np.zeros((3, 3)))
    paths = [tmp_path / "a.extxyz", tmp_path / "OUTCAR", tmp_path / "vasprun.xml",
             tmp_path / "aims.out", tmp_path / "b.xsf"]
    write(paths[0], [labelled(s) for s in molecules] + [bad], format="extxyz")
    writers["outcar"](paths[1], crystals)
    shifted = [type(s)(s.atoms, s.energy - 1, s.free_energy - 1, s.forces, s.stress) for s in crystals]
    writers["vasprun"](paths[2], shifted)
    writers["aims"](paths[3], molecules[1])  # same geometry as an extxyz frame, other energy
    writers["xsf"](paths[4], crystals[0])
    return paths


def test_import_every_format_then_rerun_adds_nothing(tmp_path: Path, files, capsys,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # keep rich from wrapping the long paths
    store = tmp_path / "store.db"
    argv = ["import", *map(str, files), "--into", str(store), "--iteration", "2", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "9 added, 0 already stored, 1 rejected of 10 structures; the store now holds 9" in out
    assert "a.extxyz:3" in out and "closer than the minimum distance" in out
    with Store.open(store) as opened:
        assert opened.count(source="imported", iteration=2) == 9
        calculators = [r.provenance.calculator for r in opened.rows()]
        assert calculators.count("vasp") == 4 and calculators.count("aims") == 1
        origins = [r.atoms.info["origin"] for r in opened.rows()]
        assert origins[0] == f"{files[0]}:0"
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "0 added, 9 already stored, 1 rejected of 10 structures; the store now holds 9" in out


def test_unreadable_file_is_listed_and_exit_code_2(tmp_path: Path, files, capsys) -> None:
    broken = tmp_path / "broken.extxyz"
    broken.write_text("2\nnonsense\nH 0 0\n")
    code = main(["import", str(files[0]), str(broken), "--into", str(tmp_path / "s.db"),
                 "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    assert "unreadable" in captured.out and "broken.extxyz" in captured.err
    assert captured.err.startswith("alearn: error:")
    assert "3 added" in captured.out  # the readable file was imported


def test_export_round_trip_and_reimport_adds_nothing(tmp_path: Path, files, capsys) -> None:
    store = tmp_path / "store.db"
    main(["import", *map(str, files), "--into", str(store), "--quiet", "--subset", "seed"])
    out = tmp_path / "out.extxyz"
    assert main(["export-data", str(store), str(out)]) == 0
    assert "wrote 9 structure(s)" in capsys.readouterr().out
    frames = read(out, index=":")
    assert len(frames) == 9
    first = frames[0]
    assert first.info["source"] == "imported" and first.info["subset"] == "seed"
    assert first.info["store_id"] == 1 and first.info["origin"].endswith("a.extxyz:0")
    with Store.open(store) as opened:
        record = opened.get(1)
        assert first.get_potential_energy() == pytest.approx(record.labels.energy, abs=1e-8)
        np.testing.assert_allclose(first.get_forces(), record.labels.forces, atol=1e-8)
    stressed = [f for f in frames if f.calc is not None and "stress" in f.calc.results]
    assert len(stressed) == 4  # OUTCAR and vasprun.xml frames
    main(["import", str(out), "--into", str(store), "--quiet"])
    assert "0 added, 9 already stored" in capsys.readouterr().out


def test_export_filters(tmp_path: Path, files, capsys) -> None:
    store = tmp_path / "store.db"
    main(["import", str(files[0]), "--into", str(store), "--quiet", "--iteration", "1"])
    main(["import", str(files[1]), "--into", str(store), "--quiet", "--iteration", "2"])
    out = tmp_path / "it2.extxyz"
    main(["export-data", str(store), str(out), "--iteration", "2"])
    assert len(read(out, index=":")) == 2
    main(["export-data", str(store), str(out), "--source", "reference"])
    assert "wrote 0 structure(s)" in capsys.readouterr().out.splitlines()[-1]
    assert main(["export-data", str(tmp_path / "absent.db"), str(out)]) == 2


def test_interrupted_import_is_consistent_and_resumable(tmp_path: Path, molecules,
                                                        monkeypatch) -> None:
    rng = np.random.default_rng(3)
    frames = []
    for i in range(25):
        atoms = molecules[0].atoms.copy()
        atoms.positions += rng.normal(0, 0.02, atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-float(i), forces=np.zeros((3, 3)))
        frames.append(atoms)
    path = tmp_path / "many.extxyz"
    write(path, frames, format="extxyz")
    store = Store.open(tmp_path / "store.db")
    original = store._prepare
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 18:
            raise KeyboardInterrupt  # the user pressed Ctrl-C in the third batch
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "_prepare", dying)
    with pytest.raises(KeyboardInterrupt):
        import_files(store, [path], ImportOptions(batch=8))
    assert len(store) == 16  # two complete batches, the third rolled back
    monkeypatch.setattr(store, "_prepare", original)
    reports = import_files(store, [path], ImportOptions(batch=8))
    assert (reports[0].inserted, reports[0].existing) == (9, 16)
    assert len(store) == 25


def test_progress_callback_sees_every_batch(tmp_path: Path, molecules) -> None:
    path = tmp_path / "m.extxyz"
    write(path, [labelled(s) for s in molecules], format="extxyz")
    seen = []
    with Store.open(tmp_path / "s.db") as store:
        import_files(store, [path], ImportOptions(batch=2), lambda p, n, done: seen.append((n, done)))
        assert export_extxyz(store, tmp_path / "o.extxyz") == 3
    assert seen == [(None, 0), (3, 0), (3, 2), (3, 3)]


def test_export_import_round_trip_hashes_are_stable(tmp_path: Path) -> None:
    """Many structures with full-precision random values: export → import finds them all."""
    from ase.build import bulk

    rng = np.random.default_rng(11)
    frames = []
    for i in range(60):
        atoms = bulk("Cu", cubic=True) if i % 2 else bulk("Si", cubic=True)
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=rng.normal(-100, 5),
                                           forces=rng.normal(0, 1, (len(atoms), 3)),
                                           stress=rng.normal(0, 0.01, 6))
        frames.append(atoms)
    write(tmp_path / "in.extxyz", frames, format="extxyz")
    with Store.open(tmp_path / "a.db") as store:
        import_files(store, [tmp_path / "in.extxyz"])
        export_extxyz(store, tmp_path / "out.extxyz")
        report = import_files(store, [tmp_path / "out.extxyz"])[0]
    assert (report.inserted, report.existing, report.rejected) == (0, 60, ())


@pytest.mark.parametrize("energy, code", [(1e6, 1), (-76.43 * 27.211386, 0), (-5.07 * 27.211386, 0)])
def test_a_lone_energy_into_an_empty_store_is_judged_without_data(tmp_path: Path, capsys,
                                                                  energy: float, code: int) -> None:
    """1e6 eV for one water molecule is refused (exit 1, nothing stored); an all-electron
    (-76.4 Ha) or xTB (-5.07 Ha) total energy of the same molecule is stored."""
    from ase.build import molecule

    water = molecule("H2O")
    water.calc = SinglePointCalculator(water, energy=energy, forces=np.zeros((3, 3)))
    path = tmp_path / "one.extxyz"
    write(path, water, format="extxyz")
    store = tmp_path / "s.db"
    assert main(["import", str(path), "--into", str(store), "--quiet"]) == code
    captured = capsys.readouterr()
    with Store.open(store) as opened:
        assert len(opened) == 1 - code
    if code:
        assert "absolute_energy_scale" in captured.out + captured.err
        assert "nothing was imported" in captured.err
