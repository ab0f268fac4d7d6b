"""Real LAMMPS (the ``lammps`` extra): the committee inside LAMMPS gives the ASE calculator's
energy, forces and stress; NVE conserves energy; NVT and NPT run; the spread is there per step;
a failing potential halts the run; ``alearn lammps`` runs an exported directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

import alearn
from alearn.cli import main
from alearn.errors import UserError
from alearn.lammps.bridge import VECTOR, attach, box_cell
from alearn.lammps.export import MdSettings, write_lammps_directory
from alearn.lammps.library import lammps_version, open_lammps

from lammpshelp import lammps_cell, save_committee, water_cluster

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(lammps_version() is None,
                                 reason="LAMMPS is not installed (pip install 'alearn[lammps]')")]

CU_AU = ("Cu", "Au")


def _start(tmp: Path, atoms: Atoms, elements, boundary: str = "p p p") -> object:
    write(tmp / "start.data", atoms, format="lammps-data", specorder=list(elements), masses=True,
          units="metal", atom_style="atomic")
    lmp = open_lammps(["-log", "none", "-screen", "none", "-nocite"])
    lmp.commands_string(f"units metal\natom_style atomic\nboundary {boundary}\n"
                        f"read_data {tmp / 'start.data'}\nfix ml all external pf/callback 1 1\n")
    return lmp


def _state(lmp, elements) -> tuple[Atoms, np.ndarray]:
    """The structure LAMMPS holds (atom-ID order) and its forces."""
    n = lmp.get_natoms()
    tags = np.asarray(lmp.numpy.extract_atom("id"))[:n]
    order = np.argsort(tags)
    types = np.asarray(lmp.numpy.extract_atom("type"))[:n][order]
    origin, cell, periodic = box_cell(lmp)
    x = np.asarray(lmp.numpy.extract_atom("x"))[:n][order] - origin
    forces = np.asarray(lmp.numpy.extract_atom("f"))[:n][order]
    return Atoms([elements[t - 1] for t in types], positions=x, cell=cell, pbc=periodic), forces


def test_energy_forces_and_stress_equal_the_ase_calculator(tmp_path) -> None:
    model = save_committee(tmp_path / "model", CU_AU)
    lmp = _start(tmp_path, lammps_cell(), CU_AU)
    attach(lmp, "ml", model)
    lmp.command("thermo_style custom step pe pxx pyy pzz pxy pxz pyz")
    lmp.command("run 0")
    atoms, forces = _state(lmp, CU_AU)
    atoms.calc = alearn.load_calculator(model)
    energy, ref, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    scale_f = max(1.0, float(np.abs(ref).max()))
    assert lmp.get_thermo("pe") == pytest.approx(energy, rel=1e-9, abs=1e-9 * len(atoms))
    assert np.abs(forces - ref).max() < 1e-8 * scale_f
    # no velocities: the pressure tensor is the virial alone, P = −σ (bar = nktv2p · eV/Å³)
    bar = lmp.extract_global("nktv2p")
    pressure = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
    assert np.allclose(pressure, -stress * bar, rtol=1e-8, atol=1e-8 * bar * max(1e-3, np.abs(stress).max()))
    lmp.close()


def test_shrink_wrapped_cluster_energy_and_forces(tmp_path) -> None:
    model = save_committee(tmp_path / "model", ("H", "O"))
    cluster = water_cluster()
    cluster.center(vacuum=6.0)
    lmp = _start(tmp_path, cluster, ("H", "O"), "s s s")
    attach(lmp, "ml", model)
    lmp.command("run 0")
    atoms, forces = _state(lmp, ("H", "O"))
    atoms.pbc = False
    atoms.calc = alearn.load_calculator(model)
    assert lmp.get_thermo("pe") == pytest.approx(atoms.get_potential_energy(), rel=1e-9, abs=1e-9)
    assert np.abs(forces - atoms.get_forces()).max() < 1e-8 * max(1.0, np.abs(forces).max())
    lmp.close()


def test_nve_conserves_energy(tmp_path) -> None:
    model = save_committee(tmp_path / "model", CU_AU, seed=2)
    lmp = _start(tmp_path, lammps_cell(), CU_AU)
    attach(lmp, "ml", model)
    lmp.commands_string("velocity all create 300 7 mom yes\nfix md all nve\ntimestep 0.0005\n"
                        "thermo_style custom step ke etotal\nrun 0\n")
    start_total, start_kinetic = lmp.get_thermo("etotal"), lmp.get_thermo("ke")
    totals = []
    for _ in range(20):
        lmp.command("run 10")
        totals.append(lmp.get_thermo("etotal"))
    drift = np.max(np.abs(np.array(totals) - start_total))
    assert drift < 1e-3 * start_kinetic, (drift, start_kinetic)     # measured: ~4e-6 of it
    lmp.close()


def test_nvt_then_npt_with_the_spread_per_step(tmp_path) -> None:
    model = save_committee(tmp_path / "model", CU_AU, seed=1)
    lmp = _start(tmp_path, lammps_cell(), CU_AU)
    log = (tmp_path / "u.txt").open("w")
    attach(lmp, "ml", model, log=log, every=5)
    volume0 = lmp.get_thermo("vol")
    lmp.commands_string("velocity all create 300 3 mom yes\ntimestep 0.0005\n"
                        "fix md all nvt temp 300 300 0.05\nrun 100\nunfix md\n"
                        "fix md all npt temp 300 300 0.05 iso 1e4 1e4 0.5\n"
                        "thermo_style custom step temp pe press vol f_ml[1] f_ml[3] f_ml[4]\nrun 100\n")
    log.close()
    assert lmp.extract_global("ntimestep") == 200
    assert lmp.get_thermo("vol") != pytest.approx(volume0, rel=1e-6)          # the barostat acted
    atoms, _ = _state(lmp, CU_AU)
    atoms.calc = alearn.load_calculator(model)
    atoms.get_potential_energy()
    results = atoms.calc.results
    vector = [lmp.numpy.extract_fix("ml", 0, 1, k) for k in range(len(VECTOR))]
    assert vector[0] == pytest.approx(results["energy_std"], rel=1e-7)
    assert vector[2] == pytest.approx(results["max_force_std"], rel=1e-7)
    assert vector[4] == 0.0
    rows = np.loadtxt(tmp_path / "u.txt")
    assert rows.shape == (41, 5) and rows[-1, 0] == 200 and np.all(np.isfinite(rows))
    lmp.close()


def test_a_failing_potential_halts_the_run(tmp_path) -> None:
    model = save_committee(tmp_path / "model", CU_AU)
    calculator = alearn.load_calculator(model)
    calls = {"n": 0}

    class FailsLater:
        implemented_properties = calculator.implemented_properties

        @property
        def results(self):
            return calculator.results

        def calculate(self, *args):
            calls["n"] += 1
            if calls["n"] > 4:
                raise UserError("a pair closer than 0.5 Å")
            calculator.calculate(*args)

    lmp = _start(tmp_path, lammps_cell(), CU_AU)
    bridge = attach(lmp, "ml", FailsLater(), elements=list(CU_AU))
    with pytest.raises(Exception, match="halt"):
        lmp.commands_string("velocity all create 300 3\nfix md all nve\ntimestep 0.0005\nrun 50\n")
    assert lmp.extract_global("ntimestep") == 4
    with pytest.raises(UserError, match="closer than 0.5"):
        bridge.check()
    lmp.close()


def test_alearn_lammps_runs_an_exported_directory(tmp_path, monkeypatch, capsys) -> None:
    save_committee(tmp_path / "model", CU_AU)
    write_lammps_directory(tmp_path, lammps_cell(), CU_AU, MdSettings(timestep_fs=0.5), True, "t")
    monkeypatch.chdir(tmp_path)
    for script in ("in.nvt", "in.npt"):
        code = main(["lammps", script, "--model", "model", "--var", "steps", "40", "--quiet",
                     "--uncertainty", f"{script}.u", "--every", "20"])
        assert code == 0
        assert np.loadtxt(f"{script}.u").shape == (3, 5)
    assert "potential evaluated" in capsys.readouterr().out
    Path("bad.in").write_text("units metal\nread_data start.data\n"
                              "fix ml all external pf/callback 1 1\nfix md all nosuchstyle\nrun 1\n")
    assert main(["lammps", "bad.in", "--model", "model", "--quiet"]) == 2
    assert "LAMMPS: ERROR" in capsys.readouterr().err
