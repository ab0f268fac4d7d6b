"""Every import format, written in the code's real layout and read back through ASE's readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.units import Hartree

from alearn.data.readers import LabelOptions, aenet_energy, detect_format, read_frames
from alearn.errors import UserError


def _with_calc(sample, **extra):
    atoms = sample.atoms.copy()
    results = {"energy": sample.energy, "forces": sample.forces, **extra}
    if sample.stress is not None:
        results["stress"] = sample.stress
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def _read(path: Path, options: LabelOptions = LabelOptions(), fmt: str | None = None):
    return read_frames(path, detect_format(path, fmt), options)


def _assert_matches(frames, samples, energy: str, atol_pos: float, atol_f: float,
                    stress: bool = True) -> None:
    assert len(frames) == len(samples)
    for frame, sample in zip(frames, samples):
        assert frame.problem is None
        np.testing.assert_allclose(frame.atoms.positions, sample.atoms.positions, atol=atol_pos)
        assert frame.atoms.get_chemical_symbols() == sample.atoms.get_chemical_symbols()
        assert frame.labels.energy == pytest.approx(getattr(sample, energy), abs=1e-6)
        np.testing.assert_allclose(frame.labels.forces, sample.forces, atol=atol_f)
        if sample.stress is not None and stress:
            np.testing.assert_allclose(frame.labels.stress, sample.stress, atol=1e-7)
        assert frame.atoms.calc is None


def test_extxyz(tmp_path: Path, crystals) -> None:
    path = tmp_path / "data.extxyz"
    write(path, [_with_calc(s) for s in crystals], format="extxyz")
    assert detect_format(path) == "extxyz"
    _assert_matches(_read(path), crystals, "energy", 1e-7, 1e-7)


def test_extxyz_custom_label_keys(tmp_path: Path, molecules) -> None:
    frames = []
    for sample in molecules:
        atoms = sample.atoms.copy()
        atoms.info["REF_energy"] = sample.energy
        atoms.arrays["REF_forces"] = sample.forces
        frames.append(atoms)
    path = tmp_path / "ref.xyz"
    write(path, frames, format="extxyz")
    options = LabelOptions(energy_key="REF_energy", forces_key="REF_forces")
    _assert_matches(_read(path, options), molecules, "energy", 1e-7, 1e-7)
    plain = _read(path)
    assert plain[0].labels is None and "no free_energy or energy" in plain[0].problem


def test_ase_database(tmp_path: Path, molecules) -> None:
    import ase.db

    path = tmp_path / "other.db"
    with ase.db.connect(str(path)) as db:
        for sample in molecules:
            db.write(_with_calc(sample))
    assert detect_format(path) == "db"
    _assert_matches(_read(path), molecules, "energy", 1e-12, 1e-12)


def test_vasp_outcar_free_energy_by_default(tmp_path: Path, crystals, writers) -> None:
    path = tmp_path / "OUTCAR"
    writers["outcar"](path, crystals)
    assert detect_format(path) == "vasp-out"
    frames = _read(path)
    _assert_matches(frames, crystals, "free_energy", 1e-5, 1e-6)
    assert all(f.calculator == "vasp" for f in frames)
    _assert_matches(_read(path, LabelOptions(energy="energy")), crystals, "energy", 1e-5, 1e-6)


def test_vasprun_xml(tmp_path: Path, crystals, writers) -> None:
    path = tmp_path / "vasprun.xml"
    writers["vasprun"](path, crystals)
    assert detect_format(path) == "vasp-xml"
    _assert_matches(_read(path), crystals, "free_energy", 1e-7, 1e-7)
    _assert_matches(_read(path, LabelOptions(energy="energy")), crystals, "energy", 1e-7, 1e-7)


@pytest.mark.parametrize("periodic", [False, True])
def test_aims_out(tmp_path: Path, molecules, crystals, writers, periodic: bool) -> None:
    sample = (crystals if periodic else molecules)[0]
    path = tmp_path / "aims.out"
    writers["aims"](path, sample)
    assert detect_format(path) == "aims-output"
    frames = _read(path)
    _assert_matches(frames, [sample], "free_energy", 1e-7, 1e-12)
    assert frames[0].calculator == "aims"
    assert bool(frames[0].atoms.pbc.all()) is periodic


@pytest.mark.parametrize("periodic", [False, True])
def test_aenet_xsf_energy_line_and_ev_forces(tmp_path: Path, molecules, crystals, writers,
                                             periodic: bool) -> None:
    sample = (crystals if periodic else molecules)[0]
    path = tmp_path / "structure.xsf"
    writers["xsf"](path, sample)
    frames = _read(path)
    _assert_matches(frames, [sample], "energy", 1e-9, 1e-9, stress=False)
    assert frames[0].labels.stress is None
    # ASE alone would have scaled the eV/Å forces by Hartree (XCrySDen's Ha/Å convention)
    from ase.io import read

    assert np.allclose(read(path, format="xsf").get_forces(), sample.forces * Hartree)


def test_xsf_without_energy_line_is_reported(tmp_path: Path, molecules, writers) -> None:
    path = tmp_path / "noenergy.xsf"
    writers["xsf"](path, molecules[0], energy_line=False)
    frames = _read(path)
    assert frames[0].labels is None
    assert "total energy" in frames[0].problem


@pytest.mark.parametrize("line, value", [
    ("# total energy = -123.456 eV", -123.456),
    ("  #  Total Energy =  -1.5e+02 eV", -150.0),
    ("# total energy = -0.1234D+03 eV", -123.4),
    ("# total energy = 42", 42.0),
])
def test_aenet_energy_line(line: str, value: float) -> None:
    assert aenet_energy(f"{line}\n\nATOMS\nH 0 0 0\n") == pytest.approx(value)


def test_aenet_energy_in_other_units_is_refused() -> None:
    with pytest.raises(ValueError, match="aenet XSF files use eV"):
        aenet_energy("# total energy = -1.0 Ha\n")
    assert aenet_energy("ATOMS\nH 0 0 0\n") is None


def test_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.extxyz"
    path.write_text("3\nnot extxyz\nH 0 0\n")
    with pytest.raises(UserError, match="ase.io.read could not read it as 'extxyz'"):
        _read(path)
    with pytest.raises(UserError, match="file not found"):
        detect_format(tmp_path / "absent.xyz")


def test_format_override(tmp_path: Path, crystals, writers) -> None:
    path = tmp_path / "run-output.txt"
    writers["outcar"](path, crystals)
    _assert_matches(_read(path, fmt="vasp-out"), crystals, "free_energy", 1e-5, 1e-6)
