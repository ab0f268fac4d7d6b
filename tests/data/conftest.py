"""Fixtures of the data tests: labelled structures, and writers of reference-code output files.

ASE writes extended XYZ, XSF and ASE databases itself; it cannot write VASP's OUTCAR and
vasprun.xml or FHI-aims' aims.out, so the small writers below produce those files in the codes'
real layout (the lines ASE's readers look for, in the codes' units), which the tests then read
back with ASE's real readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.units import GPa

from alearn.data.records import Labels


@dataclass(frozen=True)
class Sample:
    """A structure with made-up but distinct labels (eV, eV/Å, eV/Å³ Voigt)."""

    atoms: Atoms
    energy: float
    free_energy: float
    forces: np.ndarray
    stress: np.ndarray | None

    @property
    def labels(self) -> Labels:
        return Labels(energy=self.energy, forces=self.forces, stress=self.stress)


def make_samples(count: int, periodic: bool, seed: int = 0) -> list[Sample]:
    """``count`` rattled water molecules (or 2-atom Si cells) with random labels."""
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(count):
        atoms = bulk("Si", "diamond", a=5.43) if periodic else molecule("H2O", vacuum=4.0)
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        energy = -10.0 - index + rng.normal(0.0, 0.1)
        stress = rng.normal(0.0, 0.01, 6) if periodic else None
        samples.append(Sample(atoms, energy, energy - 0.01, rng.normal(0, 0.5, (len(atoms), 3)),
                              stress))
    return samples


@pytest.fixture()
def molecules() -> list[Sample]:
    return make_samples(3, periodic=False)


@pytest.fixture()
def crystals() -> list[Sample]:
    return make_samples(2, periodic=True, seed=1)


def _species_groups(atoms: Atoms) -> list[tuple[str, int]]:
    """VASP orders atoms by species; consecutive runs of one symbol."""
    groups: list[tuple[str, int]] = []
    for symbol in atoms.get_chemical_symbols():
        if groups and groups[-1][0] == symbol:
            groups[-1] = (symbol, groups[-1][1] + 1)
        else:
            groups.append((symbol, 1))
    return groups


def write_outcar(path: Path, samples: Sequence[Sample]) -> None:
    """A VASP OUTCAR with one ionic step per sample (same species for all)."""
    groups = _species_groups(samples[0].atoms)
    lines = [" vasp.6.4.2 20Jul23 (build Sep 21 2023 11:12:14) complex", ""]
    lines += [f" POTCAR:    PAW_PBE {s} 08Apr2002" for s, _ in groups] * 2
    lines += ["   ISPIN  =      1    spin polarized calculation?",
              "   ions per type =  " + "".join(f"{n:6d}" for _, n in groups), ""]
    for step, sample in enumerate(samples, start=1):
        lines += _outcar_step(step, sample)
    path.write_text("\n".join(lines) + "\n")


def _outcar_step(step: int, sample: Sample) -> list[str]:
    rule = " " + "-" * 83
    lines = [f"--------------------------------------- Iteration {step:6d}(   1)  "
             "---------------------------------------", ""]
    if sample.stress is not None:
        kb = -np.asarray(sample.stress)[[0, 1, 2, 5, 3, 4]] / (0.1 * GPa)
        lines += ["  FORCE on cell =-STRESS in cart. coord.  units (eV):",
                  "  in kB   " + "".join(f"{v:12.5f}" for v in kb),
                  "  external pressure =        0.00 kB  Pullay stress =        0.00 kB", ""]
    cell, recip = sample.atoms.cell.array, sample.atoms.cell.reciprocal()
    lines += [" VOLUME and BASIS-vectors are now :", rule,
              f"  volume of cell : {sample.atoms.get_volume():12.2f}",
              "      direct lattice vectors                 reciprocal lattice vectors"]
    lines += ["   " + "".join(f"{v:13.9f}" for v in row) + "   " + "".join(f"{v:13.9f}" for v in r)
              for row, r in zip(cell, recip)]
    lines += ["", " POSITION                                       TOTAL-FORCE (eV/Angst)", rule]
    lines += ["   " + "".join(f"{v:13.5f}" for v in pos) + "   " + "".join(f"{v:14.6f}" for v in f)
              for pos, f in zip(sample.atoms.positions, sample.forces)]
    lines += [rule, "", "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
              "  ---------------------------------------------------",
              f"  free  energy   TOTEN  = {sample.free_energy:20.8f} eV", "",
              f"  energy  without entropy= {sample.free_energy + 0.002:16.8f}  "
              f"energy(sigma->0) = {sample.energy:16.8f}", ""]
    return lines


def write_vasprun(path: Path, samples: Sequence[Sample]) -> None:
    """A vasprun.xml with one <calculation> per sample."""
    atoms = samples[0].atoms
    symbols = atoms.get_chemical_symbols()
    types = {s: i + 1 for i, (s, _) in enumerate(_species_groups(atoms))}
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<modeling>",
           " <generator>", '  <i name="program" type="string">vasp </i>',
           '  <i name="version" type="string">6.4.2  </i>', " </generator>",
           " <incar>", '  <i type="string" name="PREC">accurate</i>', " </incar>",
           " <kpoints>", '  <generation param="Gamma">',
           '   <v type="int" name="divisions">       1        1        1 </v>', "  </generation>",
           '  <varray name="kpointlist" >', "   <v>       0.00000000       0.00000000       0.00000000 </v>",
           "  </varray>", '  <varray name="weights" >', "   <v>       1.00000000 </v>", "  </varray>",
           " </kpoints>", " <parameters>", '  <separator name="electronic" >',
           '   <i name="ENCUT">    400.00000000</i>', "  </separator>", " </parameters>",
           " <atominfo>", f"  <atoms>{len(atoms):8d} </atoms>", f"  <types>{len(types):8d} </types>",
           '  <array name="atoms" >', '   <dimension dim="1">ion</dimension>',
           '   <field type="string">element</field>', '   <field type="int">atomtype</field>',
           "   <set>"]
    out += [f"    <rc><c>{s:2s}</c><c>{types[s]:4d}</c></rc>" for s in symbols]
    out += ["   </set>", "  </array>", " </atominfo>"]
    out += _vasprun_structure(atoms, ' name="initialpos"')
    for sample in samples:
        out += _vasprun_calculation(sample)
    out += ["</modeling>"]
    path.write_text("\n".join(out) + "\n")


def _varray(name: str, rows: np.ndarray, indent: str = "  ") -> list[str]:
    lines = [f'{indent}<varray name="{name}" >']
    lines += [f"{indent} <v>" + "".join(f"{v:17.8f}" for v in row) + " </v>" for row in rows]
    return lines + [f"{indent}</varray>"]


def _vasprun_structure(atoms: Atoms, attributes: str = "") -> list[str]:
    lines = [f" <structure{attributes}>", "  <crystal>"]
    lines += _varray("basis", atoms.cell.array, "   ")
    lines += [f'   <i name="volume">{atoms.get_volume():17.8f} </i>', "  </crystal>"]
    lines += _varray("positions", atoms.get_scaled_positions(wrap=False))
    return lines + [" </structure>"]


def _vasprun_energy(sample: Sample, indent: str) -> list[str]:
    return [f"{indent}<energy>",
            f'{indent} <i name="e_fr_energy">{sample.free_energy:17.8f} </i>',
            f'{indent} <i name="e_wo_entrp">{sample.free_energy + 0.002:17.8f} </i>',
            f'{indent} <i name="e_0_energy">{sample.energy:17.8f} </i>', f"{indent}</energy>"]


def _vasprun_calculation(sample: Sample) -> list[str]:
    from ase.stress import voigt_6_to_full_3x3_stress

    lines = [" <calculation>", "  <scstep>"] + _vasprun_energy(sample, "   ") + ["  </scstep>"]
    lines += _vasprun_structure(sample.atoms)
    lines += _varray("forces", sample.forces)
    if sample.stress is not None:
        lines += _varray("stress", -voigt_6_to_full_3x3_stress(sample.stress) / (0.1 * GPa))
    return lines + _vasprun_energy(sample, "  ") + [" </calculation>"]


def write_aims_out(path: Path, sample: Sample) -> None:
    """An FHI-aims aims.out of one converged single-point calculation."""
    atoms = sample.atoms
    out = ["  Invoking FHI-aims ...", "  FHI-aims version      : 240507", "",
           f"  | Number of atoms                   : {len(atoms):8d}",
           "  | Number of spin channels           :        1",
           f"  The structure contains {len(atoms):8d} atoms,  and a total of "
           f"{float(atoms.get_atomic_numbers().sum()):12.3f} electrons.",
           "  | Number of Kohn-Sham states (occupied + empty):       11", "",
           "  Input geometry:"]
    if atoms.pbc.all():
        out += ["  | Unit cell:"]
        out += ["  |   " + "".join(f"{v:16.8f}" for v in row) for row in atoms.cell.array]
    else:
        out += ["  | No unit cell requested."]
    out += ["  | Atomic structure:",
            "  |       Atom                x [A]            y [A]            z [A]"]
    out += [f"  | {i + 1:4d}: Species {s:3s}" + "".join(f"{v:17.8f}" for v in pos)
            for i, (s, pos) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions))]
    out += ["", "  Begin self-consistency loop: Initialization.", "",
            "  Begin self-consistency iteration #  1", "",
            "  Self-consistency cycle converged.", "",
            "  Energy and forces in a compact form:",
            f"  | Total energy uncorrected      :  {sample.free_energy:25.15E} eV",
            f"  | Total energy corrected        :  {sample.free_energy:25.15E} eV",
            f"  | Electronic free energy        :  {sample.free_energy:25.15E} eV",
            "  Total atomic forces (unitary forces cleaned) [eV/Ang]:"]
    out += [f"  | {i + 1:4d}" + "".join(f"{v:25.15E}" for v in f)
            for i, f in enumerate(sample.forces)]
    if sample.stress is not None:
        out += _aims_stress(sample.stress)
    out += ["", "  ------------------------------------------------------------",
            "          Leaving FHI-aims.", "", "          Have a nice day.",
            "  ------------------------------------------------------------"]
    path.write_text("\n".join(out) + "\n")


def _aims_stress(stress: np.ndarray) -> list[str]:
    from ase.stress import voigt_6_to_full_3x3_stress

    full = voigt_6_to_full_3x3_stress(stress)
    border = "  +-------------------------------------------------------------------+"
    lines = ["", border, "  |              Analytical stress tensor - Symmetrized               |",
             "  |                  Cartesian components [eV/A**3]                   |", border,
             "  |                x                y                z                |",
             "  |                                                                   |"]
    lines += [f"  |  {axis}  " + "".join(f"{v:16.8f}" for v in row) + "         |"
              for axis, row in zip("xyz", full)]
    return lines + ["  |                                                                   |",
                    f"  |  Pressure: {-np.trace(full) / 3:16.8f}   [eV/A**3]                           |",
                    border]


def write_aenet_xsf(path: Path, sample: Sample, energy_line: bool = True) -> None:
    """aenet's XSF: '# total energy = E eV', then the structure with forces in eV/Å."""
    atoms = sample.atoms
    out = [f"# total energy = {sample.energy:.10f} eV", ""] if energy_line else []
    rows = [f"{s:2s}" + "".join(f"{v:16.10f}" for v in pos) + "".join(f"{v:16.10f}" for v in f)
            for s, pos, f in zip(atoms.get_chemical_symbols(), atoms.positions, sample.forces)]
    if atoms.pbc.all():
        out += ["CRYSTAL", "PRIMVEC"]
        out += ["".join(f"{v:16.10f}" for v in row) for row in atoms.cell.array]
        out += ["PRIMCOORD", f"{len(atoms)} 1"] + rows
    else:
        out += ["ATOMS"] + rows
    path.write_text("\n".join(out) + "\n")


Writer = Callable[..., None]


@pytest.fixture()
def writers() -> dict[str, Writer]:
    return {"outcar": write_outcar, "vasprun": write_vasprun, "aims": write_aims_out,
            "xsf": write_aenet_xsf}
