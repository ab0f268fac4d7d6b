"""Input-script splitting, element matching, the exported LAMMPS directory, the command line."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

import alearn
from alearn.cli import build_parser
from alearn.errors import UserError
from alearn.lammps.export import MdSettings, input_script, write_lammps_directory
from alearn.lammps.script import find_fixes, split_script
from alearn.lammps.species import elements_from_masses

from lammpshelp import lammps_cell, water_cluster

SCRIPT = """\
units metal   # eV, Å
read_data start.data
variable note string "a # inside quotes"
fix ml all &
    external pf/callback 1 1   # the potential
fix md all nvt temp 300 300 0.05
run 100
"""


def test_split_after_the_external_fix_with_continuation_and_comments() -> None:
    split = split_script(SCRIPT)
    assert split.fix.fix_id == "ml" and split.fix.group == "all" and split.fix.line == 5
    assert split.head.endswith("pf/callback 1 1   # the potential\n")
    assert split.tail.startswith("fix md all nvt") and split.head + split.tail == SCRIPT


@pytest.mark.parametrize("text, message", [
    ("units metal\nrun 10\n", "no 'fix ml all external pf/callback 1 1' line"),
    ("fix a all external pf/callback 1 1\nfix b all external pf/callback 1 1\n", "several external fixes"),
    ("fix a all external pf/array 1\n", "pf/callback NCALL NAPPLY"),
    ("fix a all external pf/callback one 1\n", "must be integers"),
])
def test_script_problems_are_named(text, message) -> None:
    with pytest.raises(UserError, match=message):
        split_script(text)


def test_fix_id_chooses_among_several() -> None:
    text = "fix a all external pf/callback 1 1\nfix b all external pf/callback 2 2\nrun 1\n"
    assert [f.fix_id for f in find_fixes(text)] == ["a", "b"]
    assert split_script(text, "b").fix.ncall == 2


def test_elements_by_mass_choose_among_the_model_elements() -> None:
    assert elements_from_masses([15.999, 1.008], ("H", "O")) == ("O", "H")
    assert elements_from_masses([1.2], ("H", "O")) == ("H",)      # within tolerance (isotopic tweaks)


def test_exported_directory_for_a_periodic_cell(tmp_path) -> None:
    (tmp_path / "model").mkdir()
    atoms = lammps_cell()
    settings = MdSettings(temperature_K=600.0, pressure_GPa=1.5, timestep_fs=2.0, barostat="tri")
    files = write_lammps_directory(tmp_path, atoms, ("Cu", "Au"), settings, True, "test export")
    names = {p.name for p in files}
    assert {"start.data", "in.nvt", "in.npt", "README.md"} <= names
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files)
    checkout = Path(alearn.__file__).resolve().parents[1]  # the extra installs from the checkout
    assert f'pip install -e "{checkout}[lammps]"' in (tmp_path / "README.md").read_text()
    data = read(tmp_path / "start.data", format="lammps-data", atom_style="atomic", units="metal")
    assert len(data) == len(atoms) and np.allclose(data.get_masses()[:1], 63.546, atol=0.01)
    npt = (tmp_path / "in.npt").read_text()
    assert "fix           ml all external pf/callback 1 1" in npt
    assert "index 15000" in npt and "tri ${P} ${P} 0.5" in npt and "timestep      0.002" in npt
    assert "dump_modify   traj element Cu Au" in npt and "boundary      p p p" in npt
    assert split_script(npt).tail.strip().endswith("run           ${steps}")


def test_exported_directory_for_a_cluster_has_no_npt(tmp_path) -> None:
    files = write_lammps_directory(tmp_path, water_cluster(), ("H", "O"), MdSettings(), True, "t")
    assert "in.npt" not in {p.name for p in files}
    nvt = (tmp_path / "in.nvt").read_text()
    assert "boundary      s s s" in nvt and " press " not in nvt and "rot yes" in nvt
    with pytest.raises(UserError, match="holds Au, Cu, which the model does not know"):
        write_lammps_directory(tmp_path, lammps_cell(), ("H", "O"), MdSettings(), True, "t")


def test_input_script_defaults_are_the_campaign_conditions() -> None:
    text = input_script("nvt", MdSettings(temperature_K=450.0, thermostat_time_fs=80.0),
                        ("Cu",), (True, True, True), "t")
    assert "variable      T     index 450" in text and "nvt temp ${T} ${T} 0.08" in text


def test_lammps_command_help_has_a_description_and_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lammps", "--help"])
    out = capsys.readouterr().out
    assert "fix ml all external pf/callback 1 1" in out and "examples:" in out
