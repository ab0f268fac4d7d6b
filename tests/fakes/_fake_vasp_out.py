"""OUTCAR, vasprun.xml and OSZICAR of a fake VASP single point, in VASP's real layouts.

OUTCAR: version line, ``POTCAR:`` lines (listed twice, as VASP does), ``ions per type``,
``NKPTS ... NBANDS=``, ``ISPIN``, ``k-points in reciprocal lattice and weights``, one
``Iteration    1(   n)`` block per electronic step, the loop-end message (``aborting loop
because EDIFF is reached`` or ``aborting loop EDIFF was not reached (unconverged)``), the
``in kB`` stress line, ``direct lattice vectors``, the ``POSITION ... TOTAL-FORCE`` table,
``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` and the closing ``General timing and accounting
informations for this job``.  vasprun.xml: generator, incar, kpoints, parameters, atominfo,
initialpos, one calculation with its scstep list, structure, forces, stress and energy, finalpos.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.units import GPa

import _fake_common as common

BAR = "-" * 105


def _v(values) -> str:
    return "<v>" + "".join(f" {x:16.8f}" for x in values) + " </v>"


class VaspRun:
    """One fake VASP run: its inputs and the output files it writes."""

    def __init__(self, atoms: Atoms, incar: dict[str, str], potcar: str, kpoints: str) -> None:
        self.atoms = atoms
        self.incar = incar
        self.titles = [line.split("=", 1)[1].strip() for line in potcar.splitlines() if "TITEL" in line]
        lines = kpoints.splitlines()
        self.grid = [int(x) for x in lines[3].split()[:3]]
        self.species = list(dict.fromkeys(atoms.get_chemical_symbols()))
        self.counts = [atoms.get_chemical_symbols().count(s) for s in self.species]
        self.isif = int(incar.get("ISIF", "2"))

    def flag(self, name: str) -> bool:
        return self.incar.get(name, ".TRUE.").upper().strip(".") in ("TRUE", "T")

    def write(self, steps: int, converged: bool, truncate: bool) -> None:
        energy, forces, stress = common.compute(self.atoms, self.isif >= 2)
        stress_kb = None if stress is None else -stress / (0.1 * GPa)
        outcar = self.outcar(steps, converged, energy, forces, stress_kb)
        xml = self.vasprun(steps, energy, forces, stress_kb)
        if truncate:
            outcar, xml = outcar[: len(outcar) // 2], xml[: len(xml) // 2]
        with open("OUTCAR", "w") as handle:
            handle.write(outcar)
        with open("vasprun.xml", "w") as handle:
            handle.write(xml)
        if truncate:
            return
        with open("OSZICAR", "w") as handle:
            handle.write(f"   1 F= {energy:.8E} E0= {energy:.8E}  d E =0.000000E+00\n")
        if self.flag("LWAVE"):
            with open("WAVECAR", "wb") as handle:
                handle.write(b"\0" * 4096)
        if self.flag("LCHARG"):
            with open("CHGCAR", "w") as handle:
                handle.write("fake charge density\n")
        print(f"   1 F= {energy:.8E} E0= {energy:.8E}  d E =0.000000E+00")

    # ----------------------------------------------------------------- OUTCAR
    def outcar(self, steps: int, converged: bool, energy: float, forces, stress_kb) -> str:
        lines = self.outcar_header()
        for i in range(1, steps + 1):
            lines += [f"--------------------------------------- Iteration      1({i:4d})  ---------------------------------------",
                      "", f"  free energy    TOTEN  = {energy + 0.5 ** i:18.8f} eV", ""]
        if converged:
            lines.append("------------------------ aborting loop because EDIFF is reached ----------------------------------------")
        else:
            lines.append("------------------------ aborting loop EDIFF was not reached (unconverged)  ----------------------------")
        lines += [""] + self.outcar_stress(stress_kb) + self.outcar_cell() + self.outcar_forces(forces)
        lines += ["  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)", "  ---------------------------------------------------",
                  f"  free  energy   TOTEN  = {energy:18.8f} eV", "",
                  f"  energy  without entropy= {energy:18.8f}  energy(sigma->0) = {energy:18.8f}", "", "",
                  " General timing and accounting informations for this job:",
                  " ========================================================", "",
                  "                  Total CPU time used (sec):        1.234",
                  "                          Elapsed time (sec):        1.456", ""]
        return "\n".join(lines) + "\n"

    def outcar_header(self) -> list[str]:
        nk = int(np.prod(self.grid))
        lines = [" vasp.6.4.2 20Jul23 (build Nov 22 2026 05:00:00) complex (fake)", "",
                 " executed on             LinuxIFC date 2026.11.22  05:15:00",
                 " running    1 mpi-ranks, on    1 nodes", "", " INCAR:"]
        lines += [f" POTCAR:    {title}" for title in self.titles]
        for title, symbol in zip(self.titles, self.species):
            lines += [f" POTCAR:    {title}", f"   VRHFIN ={symbol}: fake", f"   TITEL  = {title}"]
        lines += ["", " Dimension of arrays:",
                  f"   k-points           NKPTS = {nk:6d}   k-points in BZ     NKDIM = {nk:6d}   number of bands    NBANDS= {self.bands():6d}",
                  f"   number of dos      NEDOS =    301   number of ions     NIONS = {len(self.atoms):6d}",
                  "   ions per type =          " + "".join(f"{c:4d}" for c in self.counts),
                  "", f"   ISPIN  = {int(self.incar.get('ISPIN', '1')):6d}    spin polarized calculation?",
                  f"   NELM   = {int(self.incar.get('NELM', '60')):6d}",
                  f"   EDIFF  = {float(self.incar.get('EDIFF', '1e-4')):.1E}   stopping-criterion for ELM", "",
                  " k-points in reciprocal lattice and weights: alearn mesh"]
        lines += [f"  {k[0]:12.8f} {k[1]:12.8f} {k[2]:12.8f}     {w:10.6f}" for k, w in self.kpoints()]
        return lines + [""]

    def bands(self) -> int:
        return 4 * len(self.atoms) + 8

    def kpoints(self):
        grid = self.grid
        points = [np.array([i / grid[0], j / grid[1], k / grid[2]])
                  for i in range(grid[0]) for j in range(grid[1]) for k in range(grid[2])]
        weight = 1.0 / len(points)
        return [(p, weight) for p in points]

    def outcar_stress(self, stress_kb) -> list[str]:
        if stress_kb is None:
            return []
        xx, yy, zz, yz, xz, xy = stress_kb
        return ["  FORCE on cell =-STRESS in cart. coord.  units (eV):",
                "  Direction    XX          YY          ZZ          XY          YZ          ZX",
                "  " + "-" * 86,
                f"  in kB  {xx:12.5f}{yy:12.5f}{zz:12.5f}{xy:12.5f}{yz:12.5f}{xz:12.5f}",
                f"  external pressure = {-(xx + yy + zz) / 3:12.2f} kB  Pullay stress =        0.00 kB", ""]

    def outcar_cell(self) -> list[str]:
        cell = np.asarray(self.atoms.cell)
        rec = np.asarray(self.atoms.cell.reciprocal())
        return [" VOLUME and BASIS-vectors are now :", " " + "-" * 77,
                f"  energy-cutoff  :  {float(self.incar.get('ENCUT', '400')):10.2f}",
                f"  volume of cell :  {self.atoms.get_volume():10.2f}",
                "      direct lattice vectors                 reciprocal lattice vectors",
                *(f"  {a[0]:13.9f}{a[1]:13.9f}{a[2]:13.9f}  {b[0]:13.9f}{b[1]:13.9f}{b[2]:13.9f}"
                  for a, b in zip(cell, rec)), ""]

    def outcar_forces(self, forces) -> list[str]:
        lines = [" POSITION                                       TOTAL-FORCE (eV/Angst)",
                 " " + "-" * 83]
        lines += [f" {p[0]:12.5f} {p[1]:12.5f} {p[2]:12.5f}   {f[0]:13.6f} {f[1]:13.6f} {f[2]:13.6f}"
                  for p, f in zip(self.atoms.positions, forces)]
        return lines + [" " + "-" * 83, "    total drift:                                0.000000      0.000000      0.000000", ""]

    # ------------------------------------------------------------ vasprun.xml
    def vasprun(self, steps: int, energy: float, forces, stress_kb) -> str:
        lines = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<modeling>", " <generator>",
                 '  <i name="program" type="string">vasp </i>',
                 '  <i name="version" type="string">6.4.2  </i>', " </generator>", " <incar>"]
        lines += [f'  <i name="{k}">{v}</i>' if _is_number(v) else f'  <i type="string" name="{k}">{v}</i>'
                  for k, v in self.incar.items()]
        lines += [" </incar>"] + self.xml_kpoints() + self.xml_parameters() + self.xml_atominfo()
        lines += self.xml_structure("initialpos")
        lines.append(" <calculation>")
        for i in range(1, steps + 1):
            lines += ["  <scstep>", '   <time name="dav">    0.01    0.01</time>', "   <energy>",
                      f'    <i name="e_fr_energy"> {energy + 0.5 ** i:16.8f} </i>',
                      f'    <i name="e_wo_entrp"> {energy + 0.5 ** i:16.8f} </i>',
                      f'    <i name="e_0_energy"> {energy + 0.5 ** i:16.8f} </i>', "   </energy>", "  </scstep>"]
        lines += [" " + s for s in self.xml_structure(None)]
        lines += ['  <varray name="forces" >', *(f"   {_v(f)}" for f in forces), "  </varray>"]
        if stress_kb is not None:
            from ase.stress import voigt_6_to_full_3x3_stress

            full = voigt_6_to_full_3x3_stress(stress_kb)
            lines += ['  <varray name="stress" >', *(f"   {_v(r)}" for r in full), "  </varray>"]
        lines += ["  <energy>", f'   <i name="e_fr_energy"> {energy:16.8f} </i>',
                  f'   <i name="e_wo_entrp"> {energy:16.8f} </i>',
                  f'   <i name="e_0_energy"> {energy:16.8f} </i>', "  </energy>",
                  '  <time name="totalsc">    0.10    0.10</time>', " </calculation>"]
        lines += self.xml_structure("finalpos") + ["</modeling>"]
        return "\n".join(lines) + "\n"

    def xml_kpoints(self) -> list[str]:
        points = self.kpoints()
        return [" <kpoints>", '  <generation param="Gamma">',
                '   <v type="int" name="divisions">' + "".join(f" {g:8d}" for g in self.grid) + " </v>",
                "  </generation>", '  <varray name="kpointlist" >', *(f"   {_v(p)}" for p, _ in points),
                "  </varray>", '  <varray name="weights" >', *(f"   {_v([w])}" for _, w in points),
                "  </varray>", " </kpoints>"]

    def xml_parameters(self) -> list[str]:
        return [" <parameters>", '  <separator name="electronic" >',
                f'   <i name="ENCUT">{float(self.incar.get("ENCUT", "400")):16.8f}</i>',
                f'   <i name="EDIFF">{float(self.incar.get("EDIFF", "1e-4")):16.8e}</i>',
                f'   <i type="int" name="NELM">{int(self.incar.get("NELM", "60")):6d}</i>',
                f'   <i type="int" name="ISPIN">{int(self.incar.get("ISPIN", "1")):6d}</i>',
                f'   <i type="int" name="ISIF">{self.isif:6d}</i>',
                '   <i name="PSTRESS">      0.00000000</i>', "  </separator>", " </parameters>"]

    def xml_atominfo(self) -> list[str]:
        rows = [f"    <rc><c>{s:<2s}</c><c>{self.species.index(s) + 1:4d}</c></rc>"
                for s in self.atoms.get_chemical_symbols()]
        types = [f"    <rc><c>{c:4d}</c><c>{s:<2s}</c><c>{1.0:16.8f}</c><c>{1.0:16.8f}</c><c>  {t}  </c></rc>"
                 for c, s, t in zip(self.counts, self.species, self.titles)]
        return [" <atominfo>", f"  <atoms>{len(self.atoms):8d} </atoms>", f"  <types>{len(self.species):8d} </types>",
                '  <array name="atoms" >', '   <dimension dim="1">ion</dimension>',
                '   <field type="string">element</field>', '   <field type="int">atomtype</field>',
                "   <set>", *rows, "   </set>", "  </array>", '  <array name="atomtypes" >',
                '   <dimension dim="1">type</dimension>', '   <field type="int">atomspertype</field>',
                '   <field type="string">element</field>', "   <field>mass</field>", "   <field>valence</field>",
                '   <field type="string">pseudopotential</field>', "   <set>", *types, "   </set>",
                "  </array>", " </atominfo>"]

    def xml_structure(self, name: str | None) -> list[str]:
        head = f' <structure name="{name}" >' if name else " <structure>"
        return [head, "  <crystal>", '   <varray name="basis" >',
                *(f"    {_v(v)}" for v in np.asarray(self.atoms.cell)), "   </varray>",
                f'   <i name="volume"> {self.atoms.get_volume():16.8f} </i>', "  </crystal>",
                '  <varray name="positions" >',
                *(f"   {_v(p)}" for p in self.atoms.get_scaled_positions(wrap=False)), "  </varray>",
                " </structure>"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
