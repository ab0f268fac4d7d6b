"""The fix-external callback against a fake LAMMPS: order by atom ID, units, virial, spread."""

from __future__ import annotations

import io

import numpy as np
import pytest

import alearn
from alearn.errors import UserError
from alearn.lammps.bridge import LOG_HEADER, VECTOR, attach

from lammpshelp import FakeLammps, lammps_cell, save_committee, water_cluster

ELEMENTS = ("Cu", "Au")


def _reference(atoms, model_dir):
    atoms = atoms.copy()
    atoms.calc = alearn.load_calculator(model_dir)
    return atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress(), atoms.calc.results


def test_callback_gives_the_ase_calculator_numbers_in_lammps_conventions(committee_dir) -> None:
    atoms = lammps_cell()
    lmp = FakeLammps(atoms, ELEMENTS)
    log = io.StringIO()
    bridge = attach(lmp, "ml", committee_dir, log=log, every=1)
    forces = lmp.step(0)
    energy, ref_forces, stress, results = _reference(atoms, committee_dir)
    scale = max(1.0, float(np.abs(ref_forces).max()))
    assert lmp.energy == pytest.approx(energy, rel=1e-10, abs=1e-10)
    assert np.abs(forces - ref_forces).max() < 1e-9 * scale
    volume = atoms.get_volume()
    voigt = -stress * volume                        # ASE xx yy zz yz xz xy → LAMMPS xx yy zz xy xz yz
    expected = [voigt[0], voigt[1], voigt[2], voigt[5], voigt[4], voigt[3]]
    assert np.allclose(lmp.virial, expected, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(voigt).max()))
    assert lmp.vector[1] == pytest.approx(results["energy_std"], rel=1e-9)
    assert lmp.vector[3] == pytest.approx(results["max_force_std"], rel=1e-9)
    assert lmp.vector[4] == np.count_nonzero(results["extrapolation"])
    assert lmp.vector[len(VECTOR)] == 0.0
    assert "fix_modify ml energy yes virial yes" in lmp.commands
    assert any(c.startswith("fix alearn_halt_ml all halt 1 v_alearn_failed_ml > 0.5") for c in lmp.commands)
    lines = log.getvalue().splitlines(keepends=True)
    assert lines[0] == LOG_HEADER and lines[1].split()[0] == "0"
    bridge.check()
    assert bridge.summary().calls == 1 and bridge.summary().stress


def test_non_periodic_box_has_no_virial(tmp_path) -> None:
    model = save_committee(tmp_path / "m", elements=("H", "O"))
    atoms = water_cluster()
    atoms.cell = [12.0, 12.0, 12.0]
    lmp = FakeLammps(atoms, ("H", "O"))
    bridge = attach(lmp, "ml", model)               # types matched by mass
    forces = lmp.step()
    ref = atoms.copy()
    ref.calc = alearn.load_calculator(model)
    assert np.abs(forces - ref.get_forces()).max() < 1e-9 * max(1.0, np.abs(ref.get_forces()).max())
    assert lmp.virial is None and not bridge.summary().stress
    assert "fix_modify ml energy yes virial no" in lmp.commands


def test_failure_is_recorded_flagged_and_raised(committee_dir) -> None:
    class Broken:
        implemented_properties = ["energy", "forces"]

        def calculate(self, *args):
            raise UserError("atoms 3 and 7 are 0.2 Å apart")

    lmp = FakeLammps(lammps_cell(), ELEMENTS)
    bridge = attach(lmp, "ml", Broken(), elements=list(ELEMENTS))
    forces = lmp.step(5)
    assert np.all(forces == 0.0) and lmp.vector[len(VECTOR)] == 1.0
    with pytest.raises(UserError, match="0.2 Å apart"):
        bridge.check()


@pytest.mark.parametrize("kwargs, elements, message", [
    ({"units": "real"}, None, "units metal"),
    ({"ranks": 4}, None, "one MPI rank"),
    ({}, ["Cu"], "one element per type"),
    ({}, ["Cu", "Ag"], "not one the model was trained on"),
    ({}, ["Cu", "Xx"], "not a chemical element"),
])
def test_bad_setups_are_user_errors(committee_dir, kwargs, elements, message) -> None:
    lmp = FakeLammps(lammps_cell(), ELEMENTS, **kwargs)
    with pytest.raises(UserError, match=message):
        attach(lmp, "ml", committee_dir, elements=elements)


def test_masses_that_fit_no_model_element_are_refused(committee_dir) -> None:
    lmp = FakeLammps(lammps_cell(), ELEMENTS)
    lmp.masses = np.array([63.546, 100.0])
    with pytest.raises(UserError, match="type 2 has mass 100"):
        attach(lmp, "ml", committee_dir)
    lmp.masses = np.array([63.546, 0.0])
    with pytest.raises(UserError, match="type 2 has no mass"):
        attach(lmp, "ml", committee_dir)
