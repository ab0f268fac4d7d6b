"""FHI-aims plugin: control.in / geometry.in, the fake aims.x, ASE parsing, failures and recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc100, molecule
from ase.calculators.emt import EMT

from alearn.config.dispatch import Profile
from alearn.config.schema import ConfigError, build
from alearn.errors import UserError
from alearn.label.protocol import STDERR, STDOUT, CalculationFailed, FailureKind
from alearn_calculators.aims import AimsCalculator, AimsParams, control_text, species_file

FAKES = Path(__file__).resolve().parents[1] / "fakes"
ELEMENTS = {"H": 1, "Li": 3, "C": 6, "O": 8, "Cu": 29}


def write_species(root: Path, levels=("light", "tight")) -> Path:
    """A species_defaults folder in FHI-aims' layout with small species blocks."""
    for level in levels:
        for symbol, z in ELEMENTS.items():
            path = root / level / f"{z:02d}_{symbol}_default"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"#  {level} defaults for {symbol} (test data)\n  species        {symbol}\n"
                            f"    nucleus             {z}\n    mass                {2.0 * z}\n"
                            f"    l_hartree           {4 if level == 'light' else 6}\n"
                            "    valence      2  s   1.\n  hydro 2 p 1.3\n")
    return root


@pytest.fixture
def species_dir(tmp_path: Path) -> Path:
    return write_species(tmp_path / "species_defaults")


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH with the test interpreter first (the fakes' shebang) and a call log."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("FAKE_AIMS_MODE", "FAKE_AIMS_SCF"):
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_DFT_LOG", str(log))
    return log


def profile_for(species_dir: Path, **kw) -> Profile:
    return Profile(command=str(FAKES / "aims.x"), species_dir=species_dir, **kw)


def run_fake(calc: AimsCalculator, atoms: Atoms, workdir: Path, profile: Profile) -> int:
    """What the dispatcher does for one attempt: inputs, the command, stdout/stderr to files."""
    calc.write_input(atoms, workdir, profile)
    with (workdir / STDOUT).open("w") as out, (workdir / STDERR).open("w") as err:
        return subprocess.run(calc.command(profile), cwd=workdir, stdout=out, stderr=err,
                              timeout=120).returncode


def emt(atoms: Atoms) -> Atoms:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms


def water() -> Atoms:
    atoms = molecule("H2O")
    atoms.rattle(0.05, seed=3)
    return atoms


def copper() -> Atoms:
    atoms = bulk("Cu", cubic=True)
    atoms.rattle(0.05, seed=4)
    return atoms


# ------------------------------------------------------------------------- control.in
def keywords(text: str) -> dict[str, str]:
    head = text.split("\n  species", 1)[0].split("\n#  ", 1)[0]
    return {line.split()[0]: " ".join(line.split()[1:]) for line in head.splitlines()
            if line.strip() and not line.startswith("#")}


def test_control_in_for_a_molecule_has_forces_no_kgrid_and_one_species_block_each(species_dir: Path) -> None:
    text = control_text(AimsParams(), water(), species_dir)
    kw = keywords(text)
    assert kw["compute_forces"] == ".true."
    assert kw["relativistic"] == "atomic_zora scalar"
    assert kw["xc"] == "pbe" and kw["spin"] == "none" and kw["sc_iter_limit"] == "100"
    assert "k_grid" not in kw and "compute_analytical_stress" not in kw
    assert [line.split()[1] for line in text.splitlines() if line.strip().startswith("species ")] == ["O", "H"]


def test_hybrid_spin_charge_and_mixing_keywords(species_dir: Path) -> None:
    params = AimsParams(xc="hse06", spin="collinear", default_initial_moment=0.5, charge=-1.0,
                        charge_mix_param=0.1, vdw="mbd", extra={"KS_method": "elpa"})
    kw = keywords(control_text(params, water(), species_dir))
    assert kw["xc"] == "hse06 0.11" and kw["hse_unit"] == "bohr-1"
    assert kw["spin"] == "collinear" and kw["default_initial_moment"] == "0.5"
    assert kw["charge"] == "-1.0" and kw["charge_mix_param"] == "0.1"
    assert "many_body_dispersion" in kw and kw["KS_method"] == "elpa"


def test_periodic_cells_get_a_kgrid_and_only_3d_cells_the_stress(species_dir: Path) -> None:
    slab = fcc100("Cu", (2, 2, 3), vacuum=6.0)
    kw_slab = keywords(control_text(AimsParams(k_grid=(5, 5, 1)), slab, species_dir))
    assert kw_slab["k_grid"] == "5 5 1" and "compute_analytical_stress" not in kw_slab
    kw_bulk = keywords(control_text(AimsParams(kpoint_density=3.5), copper(), species_dir))
    # 2π · |b| · density = 2π / 3.61 Å · 3.5 Å = 6.09 → 7
    assert kw_bulk["k_grid"] == "7 7 7" and kw_bulk["compute_analytical_stress"] == ".true."


def test_species_levels_per_element_and_missing_species_file(species_dir: Path) -> None:
    params = AimsParams(species_level="light", species_levels={"O": "tight"})
    text = control_text(params, water(), species_dir)
    assert "tight defaults for O" in text and "light defaults for H" in text
    assert species_file(species_dir, "light", "Li").name == "03_Li_default"
    with pytest.raises(UserError, match="intermediate.*08_O_default"):
        control_text(AimsParams(species_level="intermediate"), water(), species_dir)
    with pytest.raises(UserError, match="species_dir"):
        control_text(AimsParams(), water(), None)


def test_schema_validation_names_the_key() -> None:
    params = build(AimsParams, {"kind": "aims", "xc": "hse06", "k_grid": [5, 5, 1],
                                "profile": {"launcher": "srun -n {ranks}", "ranks": 4}})
    assert params.k_grid == (5, 5, 1) and params.profile.ranks == 4
    with pytest.raises(ConfigError, match=r"\[reference.k_grid\]"):
        build(AimsParams, {"kind": "aims", "k_grid": [5, 5]}, path="reference")
    with pytest.raises(ConfigError, match=r"\[reference.species_levels.Xx\]"):
        build(AimsParams, {"kind": "aims", "species_levels": {"Xx": "tight"}}, path="reference")
    with pytest.raises(ConfigError, match=r"species_level\].*'light'"):
        build(AimsParams, {"kind": "aims", "species_level": "huge"}, path="reference")


# --------------------------------------------------------------- fake runs parsed by ASE
@pytest.mark.parametrize("make", [water, copper, lambda: fcc100("Cu", (2, 2, 2), vacuum=5.0)],
                         ids=["molecule", "bulk", "slab"])
def test_labels_from_the_fake_equal_emt_on_the_input_structure(make, species_dir: Path, fake_env: Path,
                                                               tmp_path: Path) -> None:
    atoms = make()
    calc = AimsCalculator(AimsParams(k_grid=(2, 2, 1) if atoms.pbc.any() and not atoms.pbc.all() else ()))
    assert run_fake(calc, atoms, tmp_path / "run", profile_for(species_dir)) == 0
    labels = calc.read_results(tmp_path / "run")
    reference = emt(atoms)
    assert labels.energy == pytest.approx(reference.get_potential_energy(), abs=1e-9)
    np.testing.assert_allclose(labels.forces, reference.get_forces(), atol=1e-9)
    if atoms.pbc.all():
        np.testing.assert_allclose(labels.stress, reference.get_stress(), atol=1e-8)
    else:
        assert labels.stress is None
    assert labels.extra["scf_iterations"] == 12 and labels.extra["code_version"] == "240507-fake"
    assert (tmp_path / "run" / f"{STDOUT}.gz").is_file() and not (tmp_path / "run" / STDOUT).exists()
    # reading again (after a crash between read and commit) works on the compressed output
    assert calc.read_results(tmp_path / "run").energy == labels.energy


def test_missing_compute_forces_gives_no_forces_and_an_invalid_result(species_dir, fake_env, tmp_path) -> None:
    calc = AimsCalculator(AimsParams())
    profile = profile_for(species_dir)
    calc.write_input(water(), tmp_path, profile)
    control = tmp_path / "control.in"
    control.write_text(control.read_text().replace("compute_forces         .true.\n", ""))
    with (tmp_path / STDOUT).open("w") as out:
        subprocess.run(calc.command(profile), cwd=tmp_path, stdout=out, check=True, timeout=120)
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path)
    assert failure.value.kind is FailureKind.INVALID and "compute_forces" in failure.value.reason


def test_the_fake_refuses_a_missing_species_block(species_dir, fake_env, tmp_path) -> None:
    calc = AimsCalculator(AimsParams())
    profile = profile_for(species_dir)
    calc.write_input(water(), tmp_path, profile)
    control = tmp_path / "control.in"
    control.write_text(control.read_text().split("#  light defaults for H")[0])
    result = subprocess.run(calc.command(profile), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Species H" in result.stderr


@pytest.mark.parametrize("mode, kind, words", [
    ("unconverged", FailureKind.PHYSICS, "s.c.f. not converged"),
    ("truncated", FailureKind.INFRASTRUCTURE, "Have a nice day"),
    ("killed", FailureKind.INFRASTRUCTURE, "killed or its output is truncated"),
    ("empty", FailureKind.INFRASTRUCTURE, "empty"),
])
def test_failure_modes_are_read_from_the_output_not_the_exit_code(mode, kind, words, species_dir, fake_env,
                                                                  tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_AIMS_MODE", mode)
    calc = AimsCalculator(AimsParams())
    code = run_fake(calc, water(), tmp_path, profile_for(species_dir))
    assert (code != 0) == (mode == "killed")
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path)
    assert failure.value.kind is kind and words in failure.value.reason


def test_no_output_at_all_is_an_infrastructure_failure(tmp_path: Path) -> None:
    with pytest.raises(CalculationFailed) as failure:
        AimsCalculator(AimsParams()).read_results(tmp_path)
    assert failure.value.kind is FailureKind.INFRASTRUCTURE


# ------------------------------------------------------------------------------ recovery
def test_recovery_raises_the_iteration_limit_then_mixing_then_smearing_and_records_it(
        species_dir, fake_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_AIMS_SCF", "150")  # needs 150 iterations, 75 with charge_mix_param
    calc = AimsCalculator(AimsParams(sc_iter_limit=100))
    profile = profile_for(species_dir)
    run_fake(calc, water(), tmp_path / "attempt_01", profile)
    with pytest.raises(CalculationFailed) as failure:
        calc.read_results(tmp_path / "attempt_01")
    assert failure.value.kind is FailureKind.PHYSICS
    second = calc.recover(failure.value, 1)
    assert second is not None and second.params.sc_iter_limit == 200
    run_fake(second, water(), tmp_path / "attempt_02", profile)
    labels = second.read_results(tmp_path / "attempt_02")
    assert labels.extra["recovery"] == ["sc_iter_limit 100 -> 200"]
    assert labels.extra["scf_iterations"] == 150
    third = second.recover(failure.value, 2)
    assert third.params.charge_mix_param == pytest.approx(0.025)
    fourth = third.recover(failure.value, 3)
    assert fourth.params.occupation_width_eV == pytest.approx(0.05) and len(fourth.recovery) == 3
    assert fourth.recover(failure.value, 4) is None
    infrastructure = CalculationFailed(FailureKind.INFRASTRUCTURE, "node died")
    assert calc.recover(infrastructure, 1) is None
    assert AimsCalculator(AimsParams(recovery_steps=0)).recover(failure.value, 1) is None


# ------------------------------------------------------------------ profile and command
def test_command_and_dry_run_lines_follow_the_profile(species_dir: Path) -> None:
    profile = Profile(launcher="srun -n {ranks} -N {nodes} -c {threads}", ranks=64, nodes=2,
                      threads_per_rank=2, command="/opt/aims/bin/aims.240507.scalapack.mpi.x",
                      modules=("intel/2023", "fhi-aims/240507"), env={"MKL_DYNAMIC": "FALSE"},
                      species_dir=species_dir)
    calc = AimsCalculator(AimsParams())
    assert calc.command(profile) == ["srun", "-n", "64", "-N", "2", "-c", "2",
                                     "/opt/aims/bin/aims.240507.scalapack.mpi.x"]
    lines = calc.dry_run(profile)
    assert lines[0] == "module load intel/2023 fhi-aims/240507"
    assert "export OMP_NUM_THREADS=2" in lines and "export MKL_DYNAMIC=FALSE" in lines
    assert lines[-1] == ("srun -n 64 -N 2 -c 2 /opt/aims/bin/aims.240507.scalapack.mpi.x "
                         f"> {STDOUT} 2> {STDERR}")
    assert AimsCalculator(AimsParams()).command(Profile()) == ["aims.x"]


def test_a_calculation_is_not_started_when_the_pilot_job_is_about_to_end(species_dir, tmp_path,
                                                                         monkeypatch) -> None:
    from alearn_calculators import dft_common

    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(dft_common.time, "time", lambda: clock["now"])
    monkeypatch.setattr(dft_common.time, "sleep", lambda s: clock.__setitem__("now", clock["now"] + s))
    monkeypatch.setenv("ALEARN_PILOT_DEADLINE", str(clock["now"] + 600))
    calc = AimsCalculator(AimsParams())
    calc.write_input(water(), tmp_path / "fits", profile_for(species_dir, walltime_s=300.0))
    assert clock["now"] == 1_000_000.0 and (tmp_path / "fits" / "control.in").is_file()
    with pytest.raises(CalculationFailed) as failure:
        calc.write_input(water(), tmp_path / "late", profile_for(species_dir, walltime_s=3600.0))
    assert failure.value.kind is FailureKind.INFRASTRUCTURE and "pilot job" in failure.value.reason
    # it idled until the pilot's end instead of burning its attempts at once
    assert clock["now"] >= 1_000_000.0 + 600 + dft_common.PILOT_GRACE_S
    assert not (tmp_path / "late" / "control.in").exists()
    monkeypatch.delenv("ALEARN_PILOT_DEADLINE")
    monkeypatch.setenv("SLURM_JOB_END_TIME", "not a number")
    assert dft_common.pilot_deadline() is None
