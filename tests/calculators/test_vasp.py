"""VASP plugin: INCAR / KPOINTS / POSCAR / POTCAR, the fake vasp_std, ASE parsing, failures, recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import read

from alearn.config.dispatch import Profile
from alearn.config.schema import ConfigError, build
from alearn.errors import UserError
from alearn.label.protocol import STDERR, STDOUT, CalculationFailed, FailureKind
from alearn_calculators.vasp import VaspCalculator, VaspParams, species_order

FAKES = Path(__file__).resolve().parents[1] / "fakes"
SETUPS = {"H": ("H", "15Jun2001", 1.0), "O": ("O", "08Apr2002", 6.0), "Cu": ("Cu", "22Jun2005", 11.0),
          "Li": ("Li_sv", "10Sep2004", 3.0), "C": ("C", "08Apr2002", 4.0)}


def write_potcars(root: Path) -> Path:
    """A POTCAR library in VASP's layout (<setup>/POTCAR) with the header lines codes read."""
    for symbol, (setup, date, zval) in SETUPS.items():
        path = root / setup / "POTCAR"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"  PAW_PBE {setup} {date}\n {zval:.1f}\n parameters from PSCTR are:\n"
                        f"   VRHFIN ={symbol}: test data\n   TITEL  = PAW_PBE {setup} {date}\n"
                        f"   POMASS =    1.000; ZVAL   = {zval:8.3f}    mass and valenz\n"
                        "   ENMAX  =  400.000; ENMIN  =  300.000 eV\n End of Dataset\n")
    return root


@pytest.fixture
def pseudo_dir(tmp_path: Path) -> Path:
    return write_potcars(tmp_path / "potpaw_PBE")


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("FAKE_VASP_MODE", "FAKE_VASP_SCF"):
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_DFT_LOG", str(log))
    return log


def profile_for(pseudo_dir: Path, **kw) -> Profile:
    return Profile(command=str(FAKES / "vasp_std"), pseudo_dir=pseudo_dir, **kw)


def run_fake(calc: VaspCalculator, atoms: Atoms, workdir: Path, profile: Profile) -> int:
    calc.write_input(atoms, workdir, profile)
    with (workdir / STDOUT).open("w") as out, (workdir / STDERR).open("w") as err:
        return subprocess.run(calc.command(profile), cwd=workdir, stdout=out, stderr=err,
                              timeout=120).returncode


def incar(workdir: Path) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in (workdir / "INCAR").read_text().splitlines())


def mixed_copper() -> Atoms:
    """Cu with interleaved O and H, so POSCAR must regroup the species."""
    atoms = bulk("Cu", cubic=True) * (1, 1, 2)
    atoms.symbols[0] = "O"
    atoms.symbols[5] = "H"
    atoms.symbols[3] = "O"
    atoms.rattle(0.04, seed=5)
    return atoms


def boxed_water() -> Atoms:
    atoms = molecule("H2O")
    atoms.center(vacuum=6.0)
    atoms.rattle(0.04, seed=6)
    return atoms


def emt(atoms: Atoms) -> Atoms:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms


# -------------------------------------------------------------------------- input files
def test_incar_has_the_training_data_settings(pseudo_dir: Path, tmp_path: Path) -> None:
    VaspCalculator(VaspParams()).write_input(mixed_copper(), tmp_path, profile_for(pseudo_dir))
    tags = incar(tmp_path)
    assert {k: tags[k] for k in ("ISYM", "IBRION", "NSW", "ISIF", "LWAVE", "LCHARG", "GGA")} == {
        "ISYM": "0", "IBRION": "-1", "NSW": "0", "ISIF": "2", "LWAVE": ".FALSE.", "LCHARG": ".FALSE.", "GGA": "PE"}
    assert tags["ENCUT"] == "520.0" and tags["EDIFF"] == "1e-06" and tags["PREC"] == "Accurate"


def test_poscar_groups_species_and_potcar_follows_the_same_order(pseudo_dir: Path, tmp_path: Path) -> None:
    atoms = mixed_copper()
    VaspCalculator(VaspParams()).write_input(atoms, tmp_path, profile_for(pseudo_dir))
    lines = (tmp_path / "POSCAR").read_text().splitlines()
    assert lines[5].split() == ["O", "Cu", "H"] and lines[6].split() == ["2", "5", "1"]
    titles = [line.split("=")[1].split()[1] for line in (tmp_path / "POTCAR").read_text().splitlines()
              if "TITEL" in line]
    assert titles == ["O", "Cu", "H"]
    species, order = species_order(atoms)
    grouped = read(tmp_path / "POSCAR", format="vasp")
    np.testing.assert_allclose(grouped.positions, atoms.positions[order], atol=1e-8)


def test_per_element_setups_charge_spin_hybrid_and_kpoints(pseudo_dir: Path, tmp_path: Path) -> None:
    atoms = Atoms("Li2O", positions=[[0, 0, 0], [1.6, 1.6, 0], [0.8, 0.8, 1.2]], cell=[4.0, 4.0, 8.0],
                  pbc=True)
    params = VaspParams(setups={"Li": "Li_sv"}, charge=1.0, ispin=2, magmom=1.0, xc="HSE06",
                        kpoints=(5, 5, 1), extra={"ncore": "4"})
    VaspCalculator(params).write_input(atoms, tmp_path, profile_for(pseudo_dir))
    tags = incar(tmp_path)
    assert "PAW_PBE Li_sv 10Sep2004" in (tmp_path / "POTCAR").read_text()
    assert tags["NELECT"] == repr(2 * 3.0 + 6.0 - 1.0)
    assert tags["ISPIN"] == "2" and tags["MAGMOM"] == "1.0 1.0 1.0"
    assert tags["LHFCALC"] == ".TRUE." and tags["HFSCREEN"] == "0.2" and tags["NCORE"] == "4"
    assert (tmp_path / "KPOINTS").read_text().splitlines()[2:4] == ["Gamma", "  5 5 1"]


def test_a_molecule_in_a_box_gets_gamma_only_and_no_stress(pseudo_dir: Path, tmp_path: Path) -> None:
    VaspCalculator(VaspParams()).write_input(boxed_water(), tmp_path, profile_for(pseudo_dir))
    assert incar(tmp_path)["ISIF"] == "0"
    assert (tmp_path / "KPOINTS").read_text().splitlines()[3] == "  1 1 1"
    with pytest.raises(UserError, match="box"):
        VaspCalculator(VaspParams()).write_input(molecule("H2O"), tmp_path / "nobox", profile_for(pseudo_dir))


def test_missing_potcar_and_missing_pseudo_dir_are_user_errors(pseudo_dir: Path, tmp_path: Path) -> None:
    atoms = Atoms("Li", cell=[3, 3, 3], pbc=True)
    with pytest.raises(UserError, match=r"Li/POTCAR"):
        VaspCalculator(VaspParams()).write_input(atoms, tmp_path, profile_for(pseudo_dir))
    with pytest.raises(UserError, match="pseudo_dir"):
        VaspCalculator(VaspParams()).write_input(atoms, tmp_path, Profile())


def test_schema_rejects_fixed_tags_and_bad_meshes() -> None:
    with pytest.raises(ConfigError, match=r"\[reference.extra\].*ISIF"):
        build(VaspParams, {"kind": "vasp", "extra": {"isif": "3"}}, path="reference")
    with pytest.raises(ConfigError, match=r"\[reference.kpoints\]"):
        build(VaspParams, {"kind": "vasp", "kpoints": [0, 1, 1]}, path="reference")
    params = build(VaspParams, {"kind": "vasp", "setups": {"Li": "Li_sv"}, "profile": {"ranks": 8}})
    assert params.setups == {"Li": "Li_sv"} and params.profile.ranks == 8


# ------------------------------------------------------------------- fake runs via ASE
@pytest.mark.parametrize("make", [mixed_copper, boxed_water], ids=["bulk-mixed", "molecule-in-box"])
def test_labels_come_back_in_the_original_atom_order(make, pseudo_dir, fake_env, tmp_path) -> None:
    atoms = make()
    calc = VaspCalculator(VaspParams())
    assert run_fake(calc, atoms, tmp_path, profile_for(pseudo_dir)) == 0
    outcar = read(tmp_path / "OUTCAR", format="vasp-out")  # ASE's OUTCAR reader agrees
    labels = calc.read_results(tmp_path)
    reference = emt(atoms)
    assert labels.energy == pytest.approx(reference.get_potential_energy(), abs=1e-7)
    assert outcar.get_potential_energy() == pytest.approx(labels.energy, abs=1e-7)
    np.testing.assert_allclose(labels.forces, reference.get_forces(), atol=1e-7)
    if atoms.pbc.all():
        np.testing.assert_allclose(labels.stress, reference.get_stress(), atol=1e-7)
        np.testing.assert_allclose(outcar.get_stress(), labels.stress, atol=1e-6)
    else:
        assert labels.stress is None
    assert labels.extra["scf_iterations"] == 15 and labels.extra["code_version"].startswith("6.4.2")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"OUTCAR.gz", "vasprun.xml.gz"} <= names and not {"OUTCAR", "vasprun.xml"} & names
    assert calc.read_results(tmp_path).energy == labels.energy  # re-read from the gzipped files


def test_wrong_potcar_order_is_refused_by_the_fake(pseudo_dir, fake_env, tmp_path) -> None:
    calc = VaspCalculator(VaspParams())
    profile = profile_for(pseudo_dir)
    calc.write_input(mixed_copper(), tmp_path, profile)
    parts = (tmp_path / "POTCAR").read_text().split(" End of Dataset\n")
    (tmp_path / "POTCAR").write_text(" End of Dataset\n".join([parts[1], parts[0], parts[2], ""]))
    result = subprocess.run(calc.command(profile), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "do not match POSCAR" in result.stderr


def test_large_files_follow_the_policy(pseudo_dir, fake_env, tmp_path) -> None:
    keep = VaspCalculator(VaspParams(keep_wavecar=True, compress_outputs=False))
    run_fake(keep, mixed_copper(), tmp_path / "keep", profile_for(pseudo_dir))
    keep.read_results(tmp_path / "keep")
    assert (tmp_path / "keep" / "WAVECAR").is_file() and (tmp_path / "keep" / "OUTCAR").is_file()
    drop = VaspCalculator(VaspParams())
    run_fake(drop, mixed_copper(), tmp_path / "drop", profile_for(pseudo_dir))
    (tmp_path / "drop" / "WAVECAR").write_bytes(b"\0" * 1024)  # e.g. written despite LWAVE
    (tmp_path / "drop" / "CHGCAR").write_text("density\n")
    drop.read_results(tmp_path / "drop")
    assert not (tmp_path / "drop" / "WAVECAR").exists() and not (tmp_path / "drop" / "CHGCAR").exists()


@pytest.mark.parametrize("mode, kind, words", [
    ("unconverged", FailureKind.PHYSICS, "NELM"),
    ("truncated", FailureKind.INFRASTRUCTURE, "killed or its output is truncated"),
    ("killed", FailureKind.INFRASTRUCTURE, "killed or its output is truncated"),
    ("empty", FailureKind.INFRASTRUCTURE, "no OUTCAR"),
])
def test_failure_modes(mode, kind, words, pseudo_dir, fake_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_VASP_MODE", mode)
    calc = VaspCalculator(VaspParams())
    code = run_fake(calc, mixed_copper(), tmp_path, profile_for(pseudo_dir))
    assert (code != 0) == (mode == "killed")
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path)
    assert failure.value.kind is kind and words in failure.value.reason


def test_vasp5_style_nonconvergence_is_found_from_the_step_count(pseudo_dir, fake_env, tmp_path,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("FAKE_VASP_MODE", "unconverged")
    calc = VaspCalculator(VaspParams(nelm=20))
    run_fake(calc, mixed_copper(), tmp_path, profile_for(pseudo_dir))
    outcar = tmp_path / "OUTCAR"  # VASP 5 prints no 'unconverged' loop message
    outcar.write_text("".join(line for line in outcar.read_text().splitlines(keepends=True)
                              if "aborting loop" not in line))
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path)
    assert failure.value.kind is FailureKind.PHYSICS and "20 electronic steps = NELM" in failure.value.reason


def test_recovery_switches_algo_then_damps_then_smears(pseudo_dir, fake_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_VASP_SCF", "150")  # needs 150 steps, 75 with ALGO = All / Damped
    calc = VaspCalculator(VaspParams(nelm=60))
    profile = profile_for(pseudo_dir)
    run_fake(calc, mixed_copper(), tmp_path / "a1", profile)
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path / "a1")
    assert failure.value.kind is FailureKind.PHYSICS
    second = calc.recover(failure.value, 1)
    assert second.params.algo == "All" and second.params.nelm == 200
    run_fake(second, mixed_copper(), tmp_path / "a2", profile)
    labels = second.read_results(tmp_path / "a2")
    assert labels.extra["recovery"] == ["ALGO Normal -> All, NELM 60 -> 200"]
    assert incar(tmp_path / "a2")["ALGO"] == "All"
    third = second.recover(failure.value, 2)
    assert third.params.algo == "Damped" and third.params.extra["TIME"] == "0.4"
    fourth = third.recover(failure.value, 3)
    assert fourth.params.sigma_eV == pytest.approx(0.1) and fourth.recover(failure.value, 4) is None
    assert calc.recover(CalculationFailed(FailureKind.INFRASTRUCTURE, "x"), 1) is None


def test_dry_run_lines(pseudo_dir: Path) -> None:
    profile = Profile(launcher="mpirun -np {ranks}", ranks=32, command="vasp_std", pseudo_dir=pseudo_dir)
    calc = VaspCalculator(VaspParams())
    assert calc.command(profile) == ["mpirun", "-np", "32", "vasp_std"]
    assert calc.dry_run(profile)[-1] == f"mpirun -np 32 vasp_std > {STDOUT} 2> {STDERR}"
